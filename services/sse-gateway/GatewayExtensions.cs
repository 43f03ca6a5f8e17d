using Arena.Security;
using Arena.ServiceDefaults;
using Microsoft.Extensions.Options;

namespace Arena.SseGateway;

public static class GatewayExtensions
{
    public static WebApplicationBuilder AddSseGateway(this WebApplicationBuilder builder)
    {
        builder.Services.AddValidatedOptions<GatewayOptions>(GatewayOptions.Section);
        builder.Services.AddSingleton<Hub>();
        builder.Services.AddSingleton<GatewayMetrics>();
        builder.Services.AddHostedService<StreamTail>();
        builder.Services.AddSingleton<LeaderboardFeed>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<LeaderboardFeed>());
        builder.Services.AddSingleton<ConnectionLimits>();
        builder.Services.AddHttpClient("persister", (sp, c) =>
        {
            var options = sp.GetRequiredService<IOptions<GatewayOptions>>().Value;
            ReadApi(sp, c, options.PersisterUrl);
            // A hung persister must not hang the clients: past this the history is served without it.
            c.Timeout = options.PersisterTimeout;
        });
        builder.Services.AddHttpClient("ranker", (sp, c) =>
        {
            var options = sp.GetRequiredService<IOptions<GatewayOptions>>().Value;
            ReadApi(sp, c, options.RankerUrl);
            c.Timeout = options.RankerTimeout;
        });
        return builder;
    }

    public static WebApplication MapSseGateway(this WebApplication app)
    {
        // Created now, so the client gauge is scraped before the first client.
        app.Services.GetRequiredService<GatewayMetrics>();
        app.UseDefaultFiles();
        app.UseStaticFiles();
        app.MapStreams();
        app.MapReadProxies();
        return app;
    }

    /// <summary>A client of another service's read API, presenting the read token when one is set.</summary>
    private static void ReadApi(IServiceProvider services, HttpClient client, Uri baseAddress)
    {
        client.BaseAddress = baseAddress;
        if (services.GetRequiredService<ReadAccess>().OutgoingToken is { } token)
        {
            client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        }
    }
}
