using Arena.ServiceDefaults;
namespace Arena.Ingest;

/// <summary>
/// <c>POST /v1/events</c>: authenticate, receive the whole body, then — holding a permit — validate,
/// publish, answer.
/// </summary>
public static class IngestEndpoint
{
    private static readonly Problem AtConcurrencyLimit = Problem.Create(StatusCodes.Status429TooManyRequests, "too-many-requests", "Too many requests",
        "Ingest is at its limit of concurrent requests; retry after a second.");

    public static async Task<IResult> PostEventsAsync(
        HttpContext http,
        ApiKeys keys,
        EventRequestReader reader,
        PublishPermits permits,
        EventPublisher publisher,
        IngestMetrics metrics,
        ILoggerFactory loggers)
    {
        if (keys.Identify(http) is not { } caller)
        {
            return Rejected(metrics, Problem.Create(StatusCodes.Status401Unauthorized, "unauthorized", "Unauthorized",
                "A valid API key is required: send it as 'Authorization: Bearer <key>' or 'X-Api-Key: <key>'."));
        }

        var received = await reader.ReceiveAsync(http.Request, http.RequestAborted);
        if (received.Rejection is not null)
        {
            return received.Rejection.Status == StatusCodes.Status429TooManyRequests
                ? RetryLater(http, metrics, received.Rejection)
                : Rejected(metrics, received.Rejection);
        }
        using var body = received.Body;
        using var permit = permits.TryTake();
        if (!permit.IsAcquired)
        {
            return RetryLater(http, metrics, AtConcurrencyLimit);
        }

        var read = reader.Read(received);
        if (read.Rejection is not null)
        {
            return Rejected(metrics, read.Rejection);
        }

        using var documents = read.Documents;
        try
        {
            var results = await publisher.PublishAsync(read.Events!, caller.Producer, http.RequestAborted);
            metrics.Accepted.Add(results.Count);
            return new AcceptedResult(new AcceptedResponse(results));
        }
        catch (RedisUnavailableException e)
        {
            loggers.CreateLogger(typeof(IngestEndpoint)).LogWarning("Answering 503: {Reason} ({Error})", e.Message, e.InnerException?.Message);
            return RetryLater(http, metrics, Problem.Create(StatusCodes.Status503ServiceUnavailable, "redis-unavailable", "Event log unavailable",
                $"Redis did not take the events ({e.Message}). Retry after a second; events sent with an event_id are never written twice."));
        }
    }

    private static IResult RetryLater(HttpContext http, IngestMetrics metrics, Problem problem)
    {
        http.Response.Headers.RetryAfter = "1";
        return Rejected(metrics, problem);
    }

    private static IResult Rejected(IngestMetrics metrics, Problem problem)
    {
        metrics.Rejected.Add(1, new KeyValuePair<string, object?>("status", problem.Status));
        return problem.ToResult();
    }
}
