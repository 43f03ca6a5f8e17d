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
            limiter.OnRejected = (context, _) => RejectAsync(context.HttpContext);
        });
        return builder;
    }

    public static WebApplication MapIngest(this WebApplication app)
    {
        // Created now, so its counters are scraped before the first request.
        app.Services.GetRequiredService<IngestMetrics>();
        app.UseRateLimiter();
        app.MapPost("/v1/events", IngestEndpoint.PostEventsAsync).RequireRateLimiting(Backpressure);
        return app;
    }

    private static async ValueTask RejectAsync(HttpContext http)
    {
        http.RequestServices.GetRequiredService<IngestMetrics>().Rejected.Add(1, new KeyValuePair<string, object?>("status", 429));
        http.Response.Headers.RetryAfter = "1";
        await Problem.Create(StatusCodes.Status429TooManyRequests, "too-many-requests", "Too many requests",
            "Ingest is at its limit of concurrent requests; retry after a second.").ToResult().ExecuteAsync(http);
    }
}
