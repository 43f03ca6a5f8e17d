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
        builder.Services.AddHttpClient("ranker", (sp, c) => ReadApi(sp, c, sp.GetRequiredService<IOptions<GatewayOptions>>().Value.RankerUrl));
        return builder;
    }

    public static WebApplication MapSseGateway(this WebApplication app)
    {
        // Created now, so the client gauge is scraped before the first client.
        app.Services.GetRequiredService<GatewayMetrics>();
        app.UseDefaultFiles();
        app.UseStaticFiles();
        app.MapStreams();
        // The viewer lists runs through the gateway, so it needs one origin only.
        app.MapGet("/v1/runs", async (IHttpClientFactory clients, HttpContext http) =>
        {
            try
            {
                using var response = await clients.CreateClient("persister").GetAsync("/v1/runs?limit=50", http.RequestAborted);
                return Results.Content(await response.Content.ReadAsStringAsync(http.RequestAborted), "application/json", statusCode: (int)response.StatusCode);
            }
            catch (Exception e) when (HistoryGap.ReasonFor(e, http.RequestAborted) is { } reason)
            {
                http.Response.Headers.RetryAfter = "5";
                return Problem.Create(StatusCodes.Status503ServiceUnavailable, "persister-unavailable", "Run list unavailable",
                    $"The persister, which keeps the run list, did not answer ({reason}); live streams go on. Retry in a few seconds.").ToResult();
            }
        }).RequireReadAccess()
            .WithName("ListRuns").WithSummary("The persister's run list, through the gateway (for the viewer)")
            .ProducesBody(StatusCodes.Status200OK, "application/json")
            .ProducesProblems(StatusCodes.Status401Unauthorized, StatusCodes.Status503ServiceUnavailable);
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
