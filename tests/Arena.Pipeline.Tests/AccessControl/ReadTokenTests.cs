using System.Net;
using System.Text.Json;
using Arena.Contracts;
using Arena.Pipeline.Tests.Infrastructure;
using StackExchange.Redis;

namespace Arena.Pipeline.Tests.AccessControl;

/// <summary>
/// The read token on the persister, the ranker and the gateway (which presents it to the
/// other two), with a rotation's two tokens configured.
/// </summary>
public sealed class ReadTokenTests(ITestOutputHelper output) : PipelineTest(output)
{
    private const string Token = "read-token-c41e7a";
    private const string NextToken = "read-token-9f02bd";
    private static readonly Dictionary<string, string> WithToken = new() { ["Arena__ReadToken"] = $"{Token},{NextToken}" };

    protected override IDictionary<string, string>? IngestSettings => new Dictionary<string, string>();

    private ServiceProcess _persister = null!;
    private ServiceProcess _ranker = null!;
    private ServiceProcess _gateway = null!;

    private async Task StartAsync()
    {
        _persister = await TestServices.Persister(Redis, DataDir, Output, WithToken).WaitReadyAsync();
        _ranker = await TestServices.Ranker(Redis, DataDir, Output, WithToken).WaitReadyAsync();
        _gateway = await TestServices.Gateway(Redis, Output, _persister,
            new Dictionary<string, string>(WithToken) { ["SseGateway__RankerUrl"] = _ranker.Url.ToString() }).WaitReadyAsync();
    }

    private async Task StopAsync()
    {
        foreach (var service in new[] { _gateway, _ranker, _persister })
        {
            await service.DisposeAsync();
        }
    }

    private ServiceProcess Service(string name) => name switch
    {
        "persister" => _persister,
        "ranker" => _ranker,
        _ => _gateway,
    };

    private static async Task<HttpResponseMessage> GetAsync(ServiceProcess service, string path, string? bearer)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (bearer is not null)
        {
            request.Headers.Authorization = new("Bearer", bearer);
        }
        // Streams answer with their headers first; the status is all that is read here.
        return await service.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
    }

    public static readonly TheoryData<string, string> ReadApis = new()
    {
        { "persister", "/v1/runs" },
        { "persister", "/v1/runs/run-r/events" },
        { "persister", "/v1/runs/run-r/export" },
        { "persister", "/v1/committed" },
        { "ranker", "/v1/leaderboard" },
        { "ranker", "/v1/models/model-a" },
        { "ranker", "/v1/leaderboards" },
        { "ranker", "/v1/leaderboard/history" },
        { "ranker", "/v1/leaderboard/head-to-head" },
        { "sse-gateway", "/v1/runs" },
        { "sse-gateway", "/v1/runs/run-r/stream" },
        { "sse-gateway", "/v1/stream" },
        { "sse-gateway", "/v1/leaderboard/stream" },
        { "sse-gateway", "/v1/runs/run-r/replay" },
        { "sse-gateway", "/v1/leaderboards" },
        { "sse-gateway", "/v1/leaderboard" },
        { "sse-gateway", "/v1/leaderboard/history" },
        { "sse-gateway", "/v1/leaderboard/head-to-head" },
    };

    [Fact]
    public async Task Every_read_api_answers_401_without_the_token_or_with_a_wrong_one_and_serves_either_token()
    {
        await StartAsync();
        try
        {
            await Events.AcceptedAsync(await Events.PostAsync(Ingest.Http, Events.Array([Events.GameEnd("run-r", ("model-a", 1), ("model-b", 2))])));
            await Wait.UntilAsync(async () => (await GetAsync(_ranker, "/v1/models/model-a", Token)).IsSuccessStatusCode, "the ranker to rank the game");
            foreach (var (name, path) in ReadApis.Select(row => ((string)row[0], (string)row[1])))
            {
                var service = Service(name);
                foreach (var wrong in new[] { null, "read-token", Token + "x" })
                {
                    using var refused = await GetAsync(service, path, wrong);
                    Assert.True(refused.StatusCode == HttpStatusCode.Unauthorized, $"{name} {path} with token '{wrong}': {(int)refused.StatusCode}");
                    Assert.Equal("Bearer", refused.Headers.WwwAuthenticate.ToString());
                    Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
                }
                foreach (var token in new[] { Token, NextToken })
                {
                    using var served = await GetAsync(service, path, token);
                    Assert.True(served.StatusCode == HttpStatusCode.OK, $"{name} {path}: {(int)served.StatusCode}");
                }
            }
        }
        finally
        {
            await StopAsync();
        }
    }

    [Fact]
    public async Task Streams_take_the_token_in_the_query_and_the_other_apis_do_not()
    {
        await StartAsync();
        try
        {
            using var stream = await GetAsync(_gateway, $"/v1/stream?access_token={NextToken}", null);
            Assert.Equal(HttpStatusCode.OK, stream.StatusCode);
            using var wrong = await GetAsync(_gateway, $"/v1/stream?access_token={Token}x", null);
            Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
            using var history = await GetAsync(_persister, $"/v1/runs?access_token={Token}", null);
            Assert.Equal(HttpStatusCode.Unauthorized, history.StatusCode);
            using var runs = await GetAsync(_gateway, $"/v1/runs?access_token={Token}", null);
            Assert.Equal(HttpStatusCode.Unauthorized, runs.StatusCode);
        }
        finally
        {
            await StopAsync();
        }
    }

    [Fact]
    public async Task Health_and_metrics_stay_open()
    {
        await StartAsync();
        try
        {
            foreach (var service in new[] { _persister, _ranker, _gateway })
            {
                foreach (var path in new[] { "/healthz", "/readyz", "/metrics", "/openapi/v1.json" })
                {
                    using var response = await GetAsync(service, path, null);
                    Assert.True(response.StatusCode == HttpStatusCode.OK, $"{service.Name} {path}: {(int)response.StatusCode}");
                }
            }
        }
        finally
        {
            await StopAsync();
        }
    }

    [Fact]
    public async Task Gateway_presents_the_token_to_the_persister_and_the_ranker()
    {
        await StartAsync();
        try
        {
            await Events.AcceptedAsync(await Events.PostAsync(Ingest.Http, Events.Array([.. Events.Run("run-h", 20), Events.GameEnd("run-h", ("model-a", 1), ("model-b", 2))])));
            await Wait.UntilAsync(async () => await ConsumerGroups.CaughtUpAsync(Db), "the persister to commit every event");
            // Redis loses the run: only the persister's history, asked with the gateway's token, still has it.
            await Db.StreamTrimAsync(PipelineState.Stream, 0);

            var replay = await SseClient.ReadAsync(_gateway.Http, $"/v1/runs/run-h/stream?access_token={Token}", null,
                events => events.Count == 21, TimeSpan.FromSeconds(30));
            Assert.Equal(Enumerable.Range(1, 20).Select(i => (long)i).Append(99),
                replay.Select(e => JsonDocument.Parse(e.Data).RootElement.GetProperty("seq").GetInt64()));

            using var runs = await GetAsync(_gateway, "/v1/runs", Token);
            Assert.Contains("\"run-h\"", await runs.Content.ReadAsStringAsync(), StringComparison.Ordinal);

            await Wait.UntilAsync(async () =>
            {
                using var ranked = await GetAsync(_ranker, "/v1/leaderboard", Token);
                return (await ranked.Content.ReadAsStringAsync()).Contains("\"model-a\"", StringComparison.Ordinal);
            }, "the ranker to rank the game");
            var board = await SseClient.ReadAsync(_gateway.Http, $"/v1/leaderboard/stream?access_token={Token}", null,
                events => events.Count == 1, TimeSpan.FromSeconds(30));
            Assert.Equal("leaderboard", Assert.Single(board).Type);
            Assert.Contains("\"model-a\"", board[0].Data, StringComparison.Ordinal);

            foreach (var service in new[] { _persister, _ranker, _gateway })
            {
                Assert.DoesNotContain(Token, service.Output, StringComparison.Ordinal);
                Assert.DoesNotContain(NextToken, service.Output, StringComparison.Ordinal);
            }
        }
        finally
        {
            await StopAsync();
        }
    }
}
