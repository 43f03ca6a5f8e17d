using Arena.ServiceDefaults;
namespace Arena.Ingest;

/// <summary><c>POST /v1/events</c>: authenticate, read and validate the whole request, publish, answer.</summary>
public static class IngestEndpoint
{
    public static async Task<IResult> PostEventsAsync(
        HttpContext http,
        ApiKeys keys,
        EventRequestReader reader,
        EventPublisher publisher,
        IngestMetrics metrics,
        ILoggerFactory loggers)
    {
        if (keys.Identify(http) is not { } caller)
        {
            return Rejected(metrics, Problem.Create(StatusCodes.Status401Unauthorized, "unauthorized", "Unauthorized",
                "A valid API key is required: send it as 'Authorization: Bearer <key>' or 'X-Api-Key: <key>'."));
        }

        var read = await reader.ReadAsync(http.Request, http.RequestAborted);
        if (read.Rejection is not null)
        {
            return Rejected(metrics, read.Rejection);
        }

        using var documents = read.Documents;
        try
        {
            var results = await publisher.PublishAsync(read.Events!, caller.Producer, http.RequestAborted);
            metrics.Accepted.Add(results.Count);
            return Results.Json(new AcceptedResponse(results), IngestJson.Default.AcceptedResponse, statusCode: StatusCodes.Status202Accepted);
        }
        catch (RedisUnavailableException e)
        {
            loggers.CreateLogger(typeof(IngestEndpoint)).LogWarning("Answering 503: {Reason} ({Error})", e.Message, e.InnerException?.Message);
            http.Response.Headers.RetryAfter = "1";
            return Rejected(metrics, Problem.Create(StatusCodes.Status503ServiceUnavailable, "redis-unavailable", "Event log unavailable",
                $"Redis did not take the events ({e.Message}). Retry after a second; events sent with an event_id are never written twice."));
        }
    }

    private static IResult Rejected(IngestMetrics metrics, Problem problem)
    {
        metrics.Rejected.Add(1, new KeyValuePair<string, object?>("status", problem.Status));
        return problem.ToResult();
    }
}
