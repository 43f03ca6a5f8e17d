using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using Arena.Pipeline.Tests.Infrastructure;

namespace Arena.Pipeline.Tests;

/// <summary>A stored run replayed through the gateway (<c>/v1/runs/{run_id}/replay</c>) at a chosen pace, from the persister's history.</summary>
public sealed class GatewayReplayTests(ITestOutputHelper output) : PipelineTest(output)
{
    protected override IDictionary<string, string>? IngestSettings => new Dictionary<string, string>();

    private const string End = "gateway.replay_end";
    private static readonly DateTimeOffset Start = new(2026, 11, 23, 10, 0, 0, TimeSpan.Zero);

    private static long Seq(SseEvent e) => JsonDocument.Parse(e.Data).RootElement.GetProperty("seq").GetInt64();

    /// <summary>Posts a run whose event n (1-based) has <c>ts</c> = start + (n − 1) · <paramref name="apart"/>, waits until the persister stored it; returns the stream IDs.</summary>
    private async Task<List<string>> StoreRunAsync(ServiceProcess persister, string runId, int count, TimeSpan apart)
    {
        var events = Events.Run(runId, count).Select((e, i) => e.Replace("2026-11-23T10:00:00.123Z",
            (Start + apart * i).ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture), StringComparison.Ordinal));
        var ids = (await Events.AcceptedAsync(await Events.PostAsync(Ingest.Http, Events.Array(events)))).Select(r => r.StreamId).ToList();
        await Wait.UntilAsync(async () =>
        {
            using var page = JsonDocument.Parse(await persister.Http.GetStringAsync($"/v1/runs/{runId}/events?limit=1000"));
            return page.RootElement.GetProperty("events").GetArrayLength() == count;
        }, "the persister to store the run");
        return ids;
    }

    /// <summary>Reads a replay to its end, with the time each frame arrived after the request was sent.</summary>
    private static async Task<(List<SseEvent> Frames, List<TimeSpan> Arrivals)> ReplayAsync(ServiceProcess gateway, string path, string? lastEventId = null)
    {
        var arrivals = new List<TimeSpan>();
        var sent = Stopwatch.GetTimestamp();
        var frames = await SseClient.ReadAsync(gateway.Http, path, lastEventId, frames =>
        {
            if (frames.Count > arrivals.Count)
            {
                arrivals.Add(Stopwatch.GetElapsedTime(sent));
            }
            return false;
        }, TimeSpan.FromSeconds(60));
        return (frames, arrivals);
    }

    [Fact]
    public async Task Replay_delivers_a_finished_runs_events_once_in_order_at_the_requested_pace_then_an_end_frame()
    {
        await using var persister = await TestServices.Persister(Redis, DataDir, Output).WaitReadyAsync();
        await using var gateway = await TestServices.Gateway(Redis, Output, persister).WaitReadyAsync();
        var ids = await StoreRunAsync(persister, "run-replay", 6, TimeSpan.FromMilliseconds(500));

        var (frames, arrivals) = await ReplayAsync(gateway, "/v1/runs/run-replay/replay?speed=2");

        var events = frames[..^1];
        Assert.Equal(ids, events.Select(e => e.Id));
        Assert.Equal(new long[] { 1, 2, 3, 4, 5, 6 }, events.Select(Seq));
        Assert.All(events, e => Assert.Equal("turn_start", e.Type));
        Assert.Equal(ids[0], JsonDocument.Parse(events[0].Data).RootElement.GetProperty("stream_id").GetString());
        var end = frames[^1];
        Assert.Equal(End, end.Type);
        Assert.Null(end.Id);
        Assert.Equal(6, JsonDocument.Parse(end.Data).RootElement.GetProperty("events").GetInt32());
        Assert.Equal(ids[^1], JsonDocument.Parse(end.Data).RootElement.GetProperty("last").GetString());
        // 500 ms of the original at speed 2: 250 ms apart. A stalled machine only delays arrivals (and
        // the replay then sends what has come due at once), so the pace shows as no event coming
        // sooner than its time after the request, and the whole replay not taking far longer.
        Output.WriteLine($"arrivals after the request: {string.Join(", ", arrivals.Select(a => $"{a.TotalMilliseconds:F0} ms"))}");
        for (var k = 1; k < 6; k++)
        {
            Assert.True(arrivals[k] >= TimeSpan.FromMilliseconds(0.8 * 250 * k), $"event {k + 1} came {arrivals[k].TotalMilliseconds:F0} ms after the request, before its time");
        }
        Assert.True(arrivals[5] < TimeSpan.FromSeconds(10), $"the replay took {arrivals[5].TotalSeconds:F1} s, expected ~1.25");
    }

    [Fact]
    public async Task Replay_caps_a_long_pause_of_the_original_and_speed_max_does_not_pause()
    {
        await using var persister = await TestServices.Persister(Redis, DataDir, Output).WaitReadyAsync();
        await using var gateway = await TestServices.Gateway(Redis, Output, persister).WaitReadyAsync();
        // An hour between events: at speed 1000 that is 3.6 s each uncapped, 10 ms capped at 10 s of the original.
        await StoreRunAsync(persister, "run-idle", 3, TimeSpan.FromHours(1));

        var started = Stopwatch.GetTimestamp();
        var (capped, _) = await ReplayAsync(gateway, "/v1/runs/run-idle/replay?speed=1000");
        var cappedTook = Stopwatch.GetElapsedTime(started);
        var (max, _) = await ReplayAsync(gateway, "/v1/runs/run-idle/replay?speed=max");

        Assert.Equal(new long[] { 1, 2, 3 }, capped[..^1].Select(Seq));
        Assert.Equal(new long[] { 1, 2, 3 }, max[..^1].Select(Seq));
        Assert.Equal(End, max[^1].Type);
        Assert.True(cappedTook < TimeSpan.FromSeconds(3), $"the replay took {cappedTook.TotalSeconds:F1} s: the pauses were not capped");
    }

    [Fact]
    public async Task Replay_paces_by_every_ts_ingest_accepts_leap_seconds_and_nanoseconds_included()
    {
        await using var persister = await TestServices.Persister(Redis, DataDir, Output).WaitReadyAsync();
        await using var gateway = await TestServices.Gateway(Redis, Output, persister).WaitReadyAsync();
        var stamps = new[] { "2026-12-31T23:59:59.9Z", "2026-12-31T23:59:60Z", "2027-01-01T00:00:00.123456789Z" };
        var events = Events.Run("run-ts", 3).Select((e, i) => e.Replace("2026-11-23T10:00:00.123Z", stamps[i], StringComparison.Ordinal));
        await Events.AcceptedAsync(await Events.PostAsync(Ingest.Http, Events.Array(events)));
        await Wait.UntilAsync(async () =>
        {
            using var page = JsonDocument.Parse(await persister.Http.GetStringAsync("/v1/runs/run-ts/events"));
            return page.RootElement.GetProperty("events").GetArrayLength() == 3;
        }, "the persister to store the run");

        var (frames, _) = await ReplayAsync(gateway, "/v1/runs/run-ts/replay?speed=4");

        Assert.Equal(new long[] { 1, 2, 3 }, frames[..^1].Select(Seq));
        Assert.Equal(End, frames[^1].Type);
    }

    [Fact]
    public async Task Replay_resumes_after_last_event_id_or_after()
    {
        await using var persister = await TestServices.Persister(Redis, DataDir, Output).WaitReadyAsync();
        await using var gateway = await TestServices.Gateway(Redis, Output, persister).WaitReadyAsync();
        var ids = await StoreRunAsync(persister, "run-resume", 6, TimeSpan.FromMilliseconds(10));

        var (fromHeader, _) = await ReplayAsync(gateway, "/v1/runs/run-resume/replay?speed=max", lastEventId: ids[2]);
        var (fromQuery, _) = await ReplayAsync(gateway, $"/v1/runs/run-resume/replay?speed=4&after={ids[4]}");
        var (pastTheEnd, _) = await ReplayAsync(gateway, "/v1/runs/run-resume/replay", lastEventId: ids[5]);

        Assert.Equal(ids[3..], fromHeader[..^1].Select(e => e.Id));
        Assert.Equal(new long[] { 4, 5, 6 }, fromHeader[..^1].Select(Seq));
        Assert.Equal(ids[5..], fromQuery[..^1].Select(e => e.Id));
        // A client reconnecting after the last event is told the replay ended, and nothing is repeated.
        Assert.Equal(End, Assert.Single(pastTheEnd).Type);
        Assert.All(new[] { fromHeader, fromQuery }, frames => Assert.Equal(End, frames[^1].Type));
    }

    [Fact]
    public async Task A_replay_holds_a_connection_within_the_gateways_limits()
    {
        await using var persister = await TestServices.Persister(Redis, DataDir, Output).WaitReadyAsync();
        await using var gateway = await TestServices.Gateway(Redis, Output, persister, new Dictionary<string, string>
        {
            ["SseGateway__MaxConnectionsPerClient"] = "1",
            // Loopback is shared by default (a proxy on the machine): here it is an ordinary client.
            ["SseGateway__SharedAddresses"] = "",
        }).WaitReadyAsync();
        // Ten seconds between the two events: the first replay stays open while the second asks.
        await StoreRunAsync(persister, "run-slow", 2, TimeSpan.FromSeconds(10));
        using var held = await gateway.Http.GetAsync("/v1/runs/run-slow/replay", HttpCompletionOption.ResponseHeadersRead);
        using var reader = new StreamReader(await held.Content.ReadAsStreamAsync());
        Assert.Equal("retry: 2000", await reader.ReadLineAsync());

        var refused = await gateway.Http.GetStringAsync("/v1/runs/run-slow/replay?speed=max");

        Assert.StartsWith("retry: 30000", refused, StringComparison.Ordinal);
        Assert.Contains("over the limit of 1 connections per client", refused, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("speed=0", "speed")]
    [InlineData("speed=-1", "speed")]
    [InlineData("speed=1001", "speed")]
    [InlineData("speed=fast", "speed")]
    [InlineData("speed=NaN", "speed")]
    [InlineData("after=not-an-id", "after")]
    public async Task Bad_replay_request_gets_a_clear_400(string query, string field)
    {
        await using var gateway = await TestServices.Gateway(Redis, Output).WaitReadyAsync();

        using var response = await gateway.Http.GetAsync($"/v1/runs/run-x/replay?{query}");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(field, problem.RootElement.GetProperty("errors")[0].GetProperty("field").GetString());
    }
}
