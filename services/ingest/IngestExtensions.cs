using System.Threading.RateLimiting;
using Arena.ServiceDefaults;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;

namespace Arena.Ingest;

public static class IngestExtensions
{
    private const string Backpressure = "ingest-backpressure";

    public static WebApplicationBuilder AddIngest(this WebApplicationBuilder builder)
    {
        builder.Services.AddValidatedOptions<IngestOptions>(IngestOptions.Section);
        builder.Services.AddSingleton<IngestMetrics>();
        builder.Services.AddSingleton<ApiKeys>();
        builder.Services.AddSingleton<EventRequestReader>();
        builder.Services.AddSingleton<ReplicaAcks>();
        builder.Services.AddSingleton<EventPublisher>();

        builder.Services.AddRateLimiter(_ => { });
        builder.Services.AddOptions<RateLimiterOptions>().Configure<IOptions<IngestOptions>>((limiter, ingest) =>
        {
            limiter.AddConcurrencyLimiter(Backpressure, c =>
            {
                c.PermitLimit = ingest.Value.MaxConcurrentRequests;
                c.QueueLimit = 0;
            });
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
            .RequireRateLimiting(Backpressure)
            .WithMetadata(new ProducerRateLimit())
            .RequireCors(ArenaCors.Write);
        return app;
    }

    private static async ValueTask RejectAsync(OnRejectedContext context)
    {
        var http = context.HttpContext;
        var metrics = http.RequestServices.GetRequiredService<IngestMetrics>();
        metrics.Rejected.Add(1, new KeyValuePair<string, object?>("status", 429));
        Problem problem;
        if (ProducerRateLimit.RetryAfter(context) is { } retryAfter)
        {
            var producer = http.RequestServices.GetRequiredService<ApiKeys>().Identify(http)?.Producer ?? ProducerRateLimit.Anonymous;
            metrics.RateLimited.Add(1, new KeyValuePair<string, object?>("producer", producer));
            http.Response.Headers.RetryAfter = retryAfter;
            problem = Problem.Create(StatusCodes.Status429TooManyRequests, "rate-limited", "Too many requests",
                $"Producer '{producer}' is over its rate limit; nothing was written. Retry after {retryAfter} s.");
        }
        else
        {
            http.Response.Headers.RetryAfter = "1";
            problem = Problem.Create(StatusCodes.Status429TooManyRequests, "too-many-requests", "Too many requests",
                "Ingest is at its limit of concurrent requests; retry after a second.");
        }
        await problem.ToResult().ExecuteAsync(http);
    }
}
