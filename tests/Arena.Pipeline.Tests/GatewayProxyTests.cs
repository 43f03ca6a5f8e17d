using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text.Json;
using Arena.Pipeline.Tests.Infrastructure;

namespace Arena.Pipeline.Tests;

/// <summary>The ranker's read API through the gateway, so the viewer reaches it from its own origin.</summary>
public sealed class GatewayProxyTests(ITestOutputHelper output) : PipelineTest(output)
{
    protected override IDictionary<string, string>? IngestSettings => new Dictionary<string, string>();

    private const string ReadToken = "proxy-read-token-5c1e";

    private static readonly string[] RankerPaths =
    [
        "/v1/leaderboard", "/v1/leaderboards", "/v1/leaderboard?game=aoe2", "/v1/leaderboard?game=no-such-game",
        "/v1/leaderboard/history?limit=5", "/v1/leaderboard/head-to-head",
    ];

    private static async Task<(HttpStatusCode Status, string? ContentType, string Body)> GetAsync(ServiceProcess service, string path, string? token = ReadToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }
        using var response = await service.Http.SendAsync(request);
        return (response.StatusCode, response.Content.Headers.ContentType?.MediaType, await response.Content.ReadAsStringAsync());
    }

    /// <summary>A body as compared: a problem document by its type, title, status and detail (its trace id is the request's own).</summary>
    private static string Comparable(string body)
    {
        using var json = JsonDocument.Parse(body);
        var root = json.RootElement;
        return root.ValueKind == JsonValueKind.Object && root.TryGetProperty("type", out _) && root.TryGetProperty("title", out _)
            ? string.Join('\n', new[] { "type", "title", "status", "detail" }.Select(p => root.TryGetProperty(p, out var v) ? v.ToString() : ""))
            : body;
    }

    [Fact]
    public async Task Gateway_answers_the_rankers_read_endpoints_as_the_ranker_does_query_string_and_status_included()
    {
        var token = new Dictionary<string, string> { ["Arena__ReadToken"] = ReadToken };
        await using var ranker = await TestServices.Ranker(Redis, DataDir, Output, token).WaitReadyAsync();
        await using var gateway = await TestServices.Gateway(Redis, Output, settings: new Dictionary<string, string>(token)
        {
            ["SseGateway__RankerUrl"] = ranker.Url.ToString(),
        }).WaitReadyAsync();
        await Events.AcceptedAsync(await Events.PostAsync(Ingest.Http, Events.GameEnd("run-px", ("model-a", 1), ("model-b", 2))));
        await Wait.UntilAsync(async () => (await GetAsync(ranker, "/v1/leaderboard")).Body.Contains("\"model-a\"", StringComparison.Ordinal),
            "the ranker to rank the game");

        foreach (var path in RankerPaths)
        {
            // The ranker may refit once more after the game (a new updated_at): compare answers of one fit.
            await Wait.UntilAsync(async () =>
            {
                var direct = await GetAsync(ranker, path);
                var proxied = await GetAsync(gateway, path);
                Output.WriteLine($"{path}: ranker {(int)direct.Status} {direct.ContentType}, gateway {(int)proxied.Status} {proxied.ContentType}");
                return (direct.Status, direct.ContentType, Comparable(direct.Body)) == (proxied.Status, proxied.ContentType, Comparable(proxied.Body));
            }, $"the gateway to answer {path} as the ranker does");
        }
        Assert.Equal(HttpStatusCode.OK, (await GetAsync(gateway, "/v1/leaderboard")).Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await GetAsync(gateway, "/v1/leaderboard", token: null)).Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await GetAsync(gateway, "/v1/leaderboard/head-to-head", token: "wrong")).Status);
    }

    [Fact]
    public async Task Without_the_ranker_or_with_a_hung_one_the_proxies_answer_503_with_retry_after()
    {
        await using var down = await TestServices.Gateway(Redis, Output, settings: new Dictionary<string, string>
        {
            ["SseGateway__RankerUrl"] = "http://127.0.0.1:1",
        }).WaitReadyAsync();
        // The kernel completes connections to a listening socket; nothing ever answers them.
        using var hung = new TcpListener(IPAddress.Loopback, 0);
        hung.Start();
        await using var slow = await TestServices.Gateway(Redis, Output, settings: new Dictionary<string, string>
        {
            ["SseGateway__RankerUrl"] = $"http://127.0.0.1:{((IPEndPoint)hung.LocalEndpoint).Port}",
            ["SseGateway__RankerTimeout"] = "00:00:00.500",
        }).WaitReadyAsync();

        foreach (var (gateway, failure) in new[] { (down, "unreachable"), (slow, "timeout") })
        {
            foreach (var path in RankerPaths)
            {
                using var response = await gateway.Http.GetAsync(path);
                Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
                Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
                Assert.NotNull(response.Headers.RetryAfter);
                using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
                Assert.EndsWith("ranker-unavailable", problem.RootElement.GetProperty("type").GetString(), StringComparison.Ordinal);
                Assert.Contains(failure, problem.RootElement.GetProperty("detail").GetString(), StringComparison.Ordinal);
            }
        }
    }
}
