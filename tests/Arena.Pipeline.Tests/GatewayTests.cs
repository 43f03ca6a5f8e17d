using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using System.Text.Json;
using Arena.Contracts;
using Arena.Pipeline.Tests.Infrastructure;
using StackExchange.Redis;

namespace Arena.Pipeline.Tests;

/// <summary>The SSE gateway as a real process, read by real SSE clients over HTTP.</summary>
public sealed partial class GatewayTests(ITestOutputHelper output) : PipelineTest(output)
{
    protected override IDictionary<string, string>? IngestSettings => new Dictionary<string, string>();

    private async Task PostAsync(string runId, int from, int count)
    {
        await Events.AcceptedAsync(await Events.PostAsync(Ingest.Http, Events.Array(Events.Run(runId, count, from))));
    }

    private static long Seq(SseEvent e) => JsonDocument.Parse(e.Data).RootElement.GetProperty("seq").GetInt64();

    [Fact]
    public async Task Client_that_disconnects_at_random_receives_every_event_once_and_in_order_even_across_trimming()
    {
        const int Total = 600;
        await using var persister = await TestServices.Persister(Redis, DataDir, Output, new Dictionary<string, string>
        {
            ["Persister__TrimInterval"] = "00:00:00.100",
            ["Persister__RetainCount"] = "0",
            ["Persister__RetainFor"] = "00:00:00",
        }).WaitReadyAsync();
        await using var gateway = await TestServices.Gateway(Redis, Output, persister).WaitReadyAsync();
        var random = new Random(5);
        var received = new List<SseEvent>();
        string? last = null;

        await PostAsync("run-g", 1, 250);
        // Wait until Redis has trimmed events the client has not seen: they must come from the persister.
        await Wait.UntilAsync(async () =>
        {
            var first = await Client.GetDatabase().StreamRangeAsync(StreamKeys.Events(0), "-", "+", 1);
            return first.Length == 0 || StreamId.Parse(first[0].Id.ToString()) > StreamId.Parse(await FirstIdAsync());
        }, "Redis to trim the first events");

        var posting = Task.Run(async () =>
        {
            for (var seq = 251; seq <= Total; seq += 10)
            {
                await PostAsync("run-g", seq, 10);
                await Task.Delay(15);
            }
        });
        var reconnects = 0;
        while (received.Count < Total)
        {
            var take = random.Next(1, 80);
            var got = await SseClient.ReadAsync(gateway.Http, "/v1/runs/run-g/stream", last,
                events => events.Count >= take || received.Count + events.Count >= Total, TimeSpan.FromSeconds(60));
            received.AddRange(got);
            last = received.Count > 0 ? received[^1].Id : last;
            reconnects++;
        }
        await posting;

        Assert.Equal(Enumerable.Range(1, Total).Select(i => (long)i), received.Select(Seq));
        Assert.Equal(received.Select(e => e.Id).Distinct().Count(), received.Count);
        Assert.All(received, e => Assert.Equal("turn_start", e.Type));
        Assert.True(reconnects > 5, $"only {reconnects} connections");
        Assert.Matches(@"arena_sse_history_events_total\{[^}]*source=""persister""[^}]*\} [1-9]", await gateway.Http.GetStringAsync("/metrics"));
    }

    [Fact]
    public async Task Viewer_gets_every_event_while_entries_are_pending_in_a_dead_consumer_and_later_ones_are_committed()
    {
        // A consumer of the persister group took the run's first 50 entries and died holding them.
        var stream = StreamKeys.Events(0);
        await Db.StreamCreateConsumerGroupAsync(stream, StreamKeys.PersisterGroup, StreamId.Zero.ToString(), createStream: true);
        await PostAsync("run-p", 1, 50);
        Assert.Equal(50, (await Db.StreamReadGroupAsync(stream, StreamKeys.PersisterGroup, "persister-dead", ">", 50)).Length);
        await PostAsync("run-p", 51, 100);
        // Its successor commits everything after them, and claims nothing within the test.
        await using var persister = await TestServices.Persister(Redis, DataDir, Output, new Dictionary<string, string>
        {
            ["Persister__ClaimMinIdle"] = "00:10:00",
            ["Persister__TrimInterval"] = "00:00:00.100",
            ["Persister__RetainCount"] = "0",
            ["Persister__RetainFor"] = "00:00:00",
        }).WaitReadyAsync();
        await Wait.UntilAsync(async () => await CommittedAsync(persister, "run-p") == 100, "the persister to commit the 100 entries after the pending ones");
        await using var gateway = await TestServices.Gateway(Redis, Output, persister).WaitReadyAsync();

        var opened = await SseClient.ReadAsync(gateway.Http, "/v1/runs/run-p/stream", null, events => events.Count >= 150, TimeSpan.FromSeconds(30));
        var resumed = await SseClient.ReadAsync(gateway.Http, "/v1/runs/run-p/stream", opened[9].Id, events => events.Count >= 140, TimeSpan.FromSeconds(30));

        Assert.Equal(Enumerable.Range(1, 150).Select(i => (long)i), opened.Select(Seq));
        Assert.Equal(Enumerable.Range(11, 140).Select(i => (long)i), resumed.Select(Seq));
        Assert.Equal(50, (await Db.StreamPendingAsync(stream, StreamKeys.PersisterGroup)).PendingMessageCount);
    }

    private static async Task<int> CommittedAsync(ServiceProcess persister, string runId)
    {
        using var page = JsonDocument.Parse(await persister.Http.GetStringAsync($"/v1/runs/{runId}/events?limit=1000"));
        return page.RootElement.GetProperty("events").GetArrayLength();
    }

    /// <summary>The first event's stream ID, from the dedupe hash ingest keeps it in.</summary>
    private async Task<string> FirstIdAsync() =>
        (await DedupeMemory.FindAsync(Client.GetDatabase(), 0, "run-g", "run-g:1", TimeSpan.FromMinutes(10)))?.StreamId ?? "";

    [Fact]
    public async Task A_thousand_clients_on_one_run_all_receive_every_event()
    {
        await using var gateway = await TestServices.Gateway(Redis, Output).WaitReadyAsync();
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 2000 }) { BaseAddress = gateway.Url, Timeout = Timeout.InfiniteTimeSpan };
        var connected = 0;
        var clients = Enumerable.Range(0, 1000).Select(_ => SseClient.ReadAsync(http, "/v1/runs/run-k/stream?from=live", null,
            events => events.Count >= 50, TimeSpan.FromSeconds(120), () => Interlocked.Increment(ref connected))).ToList();
        await Wait.UntilAsync(() => Volatile.Read(ref connected) == 1000, "1000 clients to connect", TimeSpan.FromSeconds(90));

        await PostAsync("run-k", 1, 50);
        var results = await Task.WhenAll(clients);

        Assert.All(results, events => Assert.Equal(Enumerable.Range(1, 50).Select(i => (long)i), events.Select(Seq)));
    }

    [Fact]
    public async Task All_runs_stream_carries_every_run_live()
    {
        await using var gateway = await TestServices.Gateway(Redis, Output).WaitReadyAsync();
        var connected = new TaskCompletionSource();
        var reading = SseClient.ReadAsync(gateway.Http, "/v1/stream", null, events => events.Count >= 20, TimeSpan.FromSeconds(60), () => connected.TrySetResult());
        await connected.Task.WaitAsync(TimeSpan.FromSeconds(30));
        // The subscription is registered before the response starts; events posted now are live.
        await PostAsync("run-a", 1, 10);
        await PostAsync("run-b", 1, 10);

        var events = await reading;

        Assert.Equal(10, events.Count(e => JsonDocument.Parse(e.Data).RootElement.GetProperty("run_id").GetString() == "run-a"));
        Assert.Equal(10, events.Count(e => JsonDocument.Parse(e.Data).RootElement.GetProperty("run_id").GetString() == "run-b"));
    }

    [Fact]
    public async Task Leaderboard_clients_share_one_fetch_from_the_ranker_per_update()
    {
        const int Clients = 40;
        await using var ranker = await TestServices.Ranker(Redis, DataDir, Output).WaitReadyAsync();
        await using var gateway = await TestServices.Gateway(Redis, Output, settings: new Dictionary<string, string>
        {
            ["SseGateway__RankerUrl"] = ranker.Url.ToString(),
        }).WaitReadyAsync();
        var withFirstBoard = new bool[Clients];
        var clients = Enumerable.Range(0, Clients).Select(i => SseClient.ReadAsync(gateway.Http, "/v1/leaderboard/stream", null, boards =>
        {
            withFirstBoard[i] |= boards.Count > 0;
            return boards.Any(b => b.Data.Contains("\"model-a\"", StringComparison.Ordinal));
        }, TimeSpan.FromSeconds(60))).ToList();
        await Wait.UntilAsync(() => withFirstBoard.All(seen => seen), "every client to receive the empty leaderboard");
        Assert.Matches(@"arena_sse_clients\{[^}]*\} 40\b", await gateway.Http.GetStringAsync("/metrics"));
        var before = await LeaderboardRequestsAsync(ranker);

        await Events.AcceptedAsync(await Events.PostAsync(Ingest.Http, Events.GameEnd("run-lb", ("model-a", 1), ("model-b", 2))));
        await Task.WhenAll(clients);

        // One fetch per leaderboard_updated (the ranker may fit more than once), not one per client.
        // The ranker counts a request once its response has been sent, and its /metrics answer may
        // be a scrape of a moment ago: the count is read once it shows the fetch the clients saw.
        long fetched = 0;
        await Wait.UntilAsync(async () => (fetched = await LeaderboardRequestsAsync(ranker) - before) > 0, "the ranker to count the gateway's fetch");
        Assert.InRange(fetched, 1, 3);
    }

    [Fact]
    public async Task Entry_added_without_an_announcement_reaches_a_live_client_before_the_idle_poll()
    {
        // The tail waits in Redis for new entries: neither ingest's wake-up message nor a round of polling is needed.
        await using var gateway = await TestServices.Gateway(Redis, Output, settings: new Dictionary<string, string>
        {
            ["SseGateway__IdlePoll"] = "00:00:10",
        }).WaitReadyAsync();
        var reading = SseClient.ReadAsync(gateway.Http, "/v1/runs/run-quiet/stream?from=live", null, events => events.Count >= 1, TimeSpan.FromSeconds(30));
        await Wait.UntilAsync(async () => ConnectedClients().IsMatch(await gateway.Http.GetStringAsync("/metrics")), "the client to subscribe");

        var envelope = """{"event_id":"e-1","run_id":"run-quiet","seq":1,"type":"turn_start","schema_version":1,"ts":"2026-11-23T10:00:00.000Z","payload":{"turn":1,"player_id":"p1"}}""";
        var added = DateTime.UtcNow;
        var id = await Db.StreamAddAsync(StreamKeys.Events(0), [
            new(StreamFields.EventId, "e-1"), new(StreamFields.RunId, "run-quiet"), new(StreamFields.Type, "turn_start"),
            new(StreamFields.Envelope, envelope), new(StreamFields.IngestedAt, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()),
        ]);
        var received = await reading.WaitAsync(TimeSpan.FromSeconds(5));

        Assert.Equal(id.ToString(), Assert.Single(received).Id);
        Assert.True(DateTime.UtcNow - added < TimeSpan.FromSeconds(5), "delivered only after a poll");
    }

    [GeneratedRegex(@"arena_sse_clients\{[^}]*\} 1\b")]
    private static partial Regex ConnectedClients();

    private static async Task<long> LeaderboardRequestsAsync(ServiceProcess ranker) =>
        LeaderboardRequests().Matches(await ranker.Http.GetStringAsync("/metrics")).Sum(m => long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture));

    [GeneratedRegex(@"http_server_request_duration_seconds_count\{[^}]*http_route=""/v1/leaderboard""[^}]*\} (\d+)")]
    private static partial Regex LeaderboardRequests();

    [Theory]
    [InlineData("not-an-id", "Last-Event-ID")]
    [InlineData("99999999999999-0", "Last-Event-ID")]
    public async Task Bad_last_event_id_gets_a_clear_400(string lastEventId, string field)
    {
        await using var gateway = await TestServices.Gateway(Redis, Output).WaitReadyAsync();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/runs/run-x/stream");
        request.Headers.Add("Last-Event-ID", lastEventId);

        using var response = await gateway.Http.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(field, problem.RootElement.GetProperty("errors")[0].GetProperty("field").GetString());
    }

    [Fact]
    public async Task Viewer_page_is_served()
    {
        await using var gateway = await TestServices.Gateway(Redis, Output).WaitReadyAsync();

        var page = await gateway.Http.GetStringAsync("/");

        Assert.Contains("EventSource", await gateway.Http.GetStringAsync("/viewer.js"), StringComparison.Ordinal);
        Assert.Contains("Leaderboard", page, StringComparison.Ordinal);
    }
}
