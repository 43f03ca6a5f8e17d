using Arena.ServiceDefaults;

namespace Arena.Ingest;

public static class IngestExtensions
{
    public static WebApplicationBuilder AddIngest(this WebApplicationBuilder builder)
    {
        builder.Services.AddValidatedOptions<IngestOptions>(IngestOptions.Section);
        builder.Services.AddSingleton<IngestMetrics>();
        builder.Services.AddSingleton<ApiKeys>();
        builder.Services.AddSingleton<EventRequestReader>();
        builder.Services.AddSingleton<EventPublisher>();
        return builder;
    }

    public static WebApplication MapIngest(this WebApplication app)
    {
        app.MapPost("/v1/events", IngestEndpoint.PostEventsAsync);
        return app;
    }
}
