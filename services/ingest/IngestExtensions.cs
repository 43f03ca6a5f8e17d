using Arena.Security;
using Arena.ServiceDefaults;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;
using Microsoft.OpenApi;

namespace Arena.Ingest;

public static class IngestExtensions
{
    public static WebApplicationBuilder AddIngest(this WebApplicationBuilder builder)
    {
        builder.Services.AddValidatedOptions<IngestOptions>(IngestOptions.Section);
        builder.Services.AddSingleton<IngestMetrics>();
        builder.Services.AddSingleton<ApiKeys>();
        builder.Services.AddSingleton<BodyMemoryBudget>();
        builder.Services.AddSingleton<EventRequestReader>();
        builder.Services.AddSingleton<PublishPermits>();
        builder.Services.AddSingleton<ReplicaAcks>();
        builder.Services.AddSingleton<EventPublisher>();

        builder.Services.AddOptions<KestrelServerOptions>().Configure<IOptions<IngestOptions>>((kestrel, ingest) =>
        {
            IngestOptions limits;
            try
            {
                limits = ingest.Value;
            }
            catch (Exception e) when (e is OptionsValidationException or ServiceStartupException)
            {
                // The server is built before settings are validated at start-up, which then stops
                // the service with the message; until then the server keeps its own limits.
                return;
            }
            // A client that sends its request slowly holds a connection and the memory of what it sent;
            // these limits cut it off in seconds instead of the server's defaults (30 s for headers,
            // 240 B/s for a body, which lets a 1 MiB body take over an hour).
            kestrel.Limits.RequestHeadersTimeout = limits.HeadersTimeout;
            kestrel.Limits.MinRequestBodyDataRate = new MinDataRate(limits.MinBodyBytesPerSecond, limits.BodyGracePeriod);
        });

        builder.Services.AddRateLimiter(_ => { });
        builder.Services.AddOptions<RateLimiterOptions>().Configure<IOptions<IngestOptions>>((limiter, ingest) =>
        {
            limiter.GlobalLimiter = ProducerRateLimit.Create(ingest.Value);
            limiter.OnRejected = (context, _) => RejectAsync(context);
        });
        return builder;
    }

    public static WebApplication MapIngest(this WebApplication app)
    {
        // Created now, so its counters are scraped before the first request.
        app.Services.GetRequiredService<IngestMetrics>();
        app.UseRateLimiter();
        app.MapPost("/v1/events", IngestEndpoint.PostEventsAsync)
            .WithName("PostEvents")
            .WithSummary("Publish events: one JSON object, a JSON array or NDJSON, up to the request limits")
            // The request body for the document only: Accepts metadata would let routing answer other
            // media types with a bare 415 before the endpoint's own problem document.
            .AddOpenApiOperationTransformer((operation, _, _) =>
            {
                operation.RequestBody = new OpenApiRequestBody
                {
                    Required = true,
                    Description = "One event object, a JSON array of events, or NDJSON (one event a line), UTF-8",
                    Content = new Dictionary<string, OpenApiMediaType> { ["application/json"] = new(), ["application/x-ndjson"] = new() },
                };
                return Task.CompletedTask;
            })
            .ProducesBody(StatusCodes.Status202Accepted, "application/json")
            .ProducesProblems(StatusCodes.Status400BadRequest, StatusCodes.Status401Unauthorized, StatusCodes.Status408RequestTimeout,
                StatusCodes.Status413PayloadTooLarge, StatusCodes.Status415UnsupportedMediaType, StatusCodes.Status429TooManyRequests,
                StatusCodes.Status503ServiceUnavailable)
            .WithMetadata(new ProducerRateLimit())
            .RequireCors(ArenaCors.Write);
        app.MapSchemas();
        return app;
    }

    /// <summary>A producer over its rate limit: 429 with the wait its token bucket names.</summary>
    private static async ValueTask RejectAsync(OnRejectedContext context)
    {
        var http = context.HttpContext;
        var metrics = http.RequestServices.GetRequiredService<IngestMetrics>();
        metrics.Rejected.Add(1, new KeyValuePair<string, object?>("status", 429));
        var retryAfter = ProducerRateLimit.RetryAfter(context);
        var producer = http.RequestServices.GetRequiredService<ApiKeys>().Identify(http)?.Producer ?? ProducerRateLimit.Anonymous;
        metrics.RateLimited.Add(1, new KeyValuePair<string, object?>("producer", producer));
        http.Response.Headers.RetryAfter = retryAfter;
        var problem = Problem.Create(StatusCodes.Status429TooManyRequests, "rate-limited", "Too many requests",
            $"Producer '{producer}' is over its rate limit; nothing was written. Retry after {retryAfter} s.");
        await problem.ToResult().ExecuteAsync(http);
    }
}
