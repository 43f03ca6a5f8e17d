using Arena.Security;
using Arena.ServiceDefaults;

namespace Arena.SseGateway;

/// <summary>
/// The persister's run list and the ranker's read API under the gateway's own paths, so the
/// viewer served at <c>/</c> needs one origin only. Answers pass through as they are (status,
/// body, content type, <c>Retry-After</c>); a service that does not answer within its timeout
/// gets a <c>503</c> problem with <c>Retry-After</c>, and the live streams go on.
/// </summary>
public static class ReadProxies
{
    public static void MapReadProxies(this WebApplication app)
    {
        var reads = app.MapGroup("/v1").RequireReadAccess()
            .ProducesBody(StatusCodes.Status200OK, "application/json")
            .ProducesProblems(StatusCodes.Status401Unauthorized, StatusCodes.Status503ServiceUnavailable);
        reads.MapGet("/runs", (IHttpClientFactory clients, HttpContext http) =>
            ForwardAsync(http, clients.CreateClient("persister"), "/v1/runs?limit=50", "persister", "persister-unavailable", "Run list unavailable"))
            .WithName("ListRuns").WithSummary("The persister's run list, through the gateway (for the viewer)");
        foreach (var (path, name, summary) in new[]
        {
            ("/leaderboards", "ListLeaderboards", "The ranker's leaderboards, one per game, through the gateway"),
            ("/leaderboard", "Leaderboard", "The ranker's leaderboard (?game= for one game's), through the gateway"),
            ("/leaderboard/history", "LeaderboardHistory", "The ranker's leaderboard snapshots over time, through the gateway"),
            ("/leaderboard/head-to-head", "HeadToHead", "The ranker's results of every pair of models, through the gateway"),
        })
        {
            reads.MapGet(path, (IHttpClientFactory clients, HttpContext http) =>
                ForwardAsync(http, clients.CreateClient("ranker"), "/v1" + path + http.Request.QueryString, "ranker", "ranker-unavailable", "Leaderboard unavailable"))
                .WithName(name).WithSummary(summary)
                .ProducesProblems(StatusCodes.Status400BadRequest, StatusCodes.Status404NotFound);
        }
    }

    private static async Task<IResult> ForwardAsync(HttpContext http, HttpClient client, string pathAndQuery, string service, string problemType, string title)
    {
        try
        {
            using var response = await client.GetAsync(pathAndQuery, http.RequestAborted);
            if (response.Headers.RetryAfter is { } retryAfter)
            {
                http.Response.Headers.RetryAfter = retryAfter.ToString();
            }
            return Results.Content(await response.Content.ReadAsStringAsync(http.RequestAborted),
                response.Content.Headers.ContentType?.ToString() ?? "application/json", statusCode: (int)response.StatusCode);
        }
        catch (Exception e) when (HistoryGap.FailureOf(e, http.RequestAborted) is { } failure)
        {
            http.Response.Headers.RetryAfter = "5";
            return Problem.Create(StatusCodes.Status503ServiceUnavailable, problemType, title,
                $"The {service} did not answer ({failure}); live streams go on. Retry in a few seconds.").ToResult();
        }
    }
}
