using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.RegularExpressions;
using Arena.Contracts;
using Arena.Pipeline.Tests.Infrastructure;

namespace Arena.Pipeline.Tests;

/// <summary>
/// A run whose first events Redis has trimmed, read through the gateway with the persister up,
/// stopped, and hung: without it the client is told which range is missing, then gets every
/// event Redis holds and the live ones.
/// </summary>
public sealed partial class GatewayWithoutPersisterTests(ITestOutputHelper output) : PipelineTest(output)
{
    protected override IDictionary<string, string>? IngestSettings => new Dictionary<string, string>();

    private const string Run = "run-h";
    private const string Notice = "gateway.history_unavailable";

    private static long Seq(SseEvent e) => JsonDocument.Parse(e.Data).RootElement.GetProperty("seq").GetInt64();

    /// <summary>Posts events 1..100 of the run, has the persister commit them and trims Redis below event 61; returns the stream IDs.</summary>
    private async Task<List<string>> PersistAndTrimAsync(ServiceProcess persister)
    {
        var ids = (await Events.AcceptedAsync(await Events.PostAsync(Ingest.Http, Events.Array(Events.Run(Run, 100))))).Select(r => r.StreamId).ToList();
        await Wait.UntilAsync(async () =>
        {
            using var page = JsonDocument.Parse(await persister.Http.GetStringAsync($"/v1/runs/{Run}/events?limit=1000"));
            return page.RootElement.GetProperty("events").GetArrayLength() == 100;
        }, "the persister to commit the run");
        await Db.ExecuteAsync("XTRIM", StreamKeys.Events(0), "MINID", ids[60]);
        Assert.Equal(ids[60], (await Db.StreamRangeAsync(StreamKeys.Events(0), "-", "+", 1))[0].Id.ToString());
        return ids;
    }

    [Fact]
    public async Task Without_the_persister_the_client_is_told_the_missing_range_then_gets_what_Redis_holds_and_live_events()
    {
        await using var persister = await TestServices.Persister(Redis, DataDir, Output).WaitReadyAsync();
        var ids = await PersistAndTrimAsync(persister);
        await using var gateway = await TestServices.Gateway(Redis, Output, persister).WaitReadyAsync();

        var whole = await SseClient.ReadAsync(gateway.Http, $"/v1/runs/{Run}/stream", null, e => e.Count >= 100, TimeSpan.FromSeconds(30));
        await persister.KillAsync();
        var connected = new TaskCompletionSource();
        var reading = SseClient.ReadAsync(gateway.Http, $"/v1/runs/{Run}/stream", null, e => e.Count >= 1 + 40 + 10, TimeSpan.FromSeconds(30),
            () => connected.TrySetResult());
        await connected.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await Events.AcceptedAsync(await Events.PostAsync(Ingest.Http, Events.Array(Events.Run(Run, 10, 101))));
        var without = await reading;
        var resumedInGap = await SseClient.ReadAsync(gateway.Http, $"/v1/runs/{Run}/stream", ids[19], e => e.Count >= 1 + 50, TimeSpan.FromSeconds(30));
        var resumedPastGap = await SseClient.ReadAsync(gateway.Http, $"/v1/runs/{Run}/stream", ids[69], e => e.Count >= 40, TimeSpan.FromSeconds(30));

        Assert.Equal(Enumerable.Range(1, 100).Select(i => (long)i), whole.Select(Seq));
        Assert.DoesNotContain(whole, e => e.Type == Notice);
        AssertNotice(without[0], after: StreamId.Zero.ToString(), before: ids[60]);
        Assert.Equal(Enumerable.Range(61, 50).Select(i => (long)i), without.Skip(1).Select(Seq));
        AssertNotice(resumedInGap[0], after: ids[19], before: ids[60]);
        Assert.Equal(Enumerable.Range(61, 50).Select(i => (long)i), resumedInGap.Skip(1).Select(Seq));
        Assert.Equal(Enumerable.Range(71, 40).Select(i => (long)i), resumedPastGap.Select(Seq));
        Assert.Equal(2, UnavailableCount(await gateway.Http.GetStringAsync("/metrics"), "persister_unreachable"));
        // The run list lives in the persister: without it the gateway says so, as a problem a client can retry.
        using var runs = await gateway.Http.GetAsync("/v1/runs");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, runs.StatusCode);
        Assert.Equal("application/problem+json", runs.Content.Headers.ContentType?.MediaType);
        Assert.NotNull(runs.Headers.RetryAfter);
    }

    [Fact]
    public async Task A_hung_persister_costs_a_client_no_more_than_the_persister_timeout()
    {
        await using var persister = await TestServices.Persister(Redis, DataDir, Output).WaitReadyAsync();
        await PersistAndTrimAsync(persister);
        await persister.KillAsync();
        // The kernel completes connections to a listening socket; nothing ever answers them.
        using var hung = new TcpListener(IPAddress.Loopback, 0);
        hung.Start();
        await using var gateway = await TestServices.Gateway(Redis, Output, settings: new Dictionary<string, string>
        {
            ["SseGateway__PersisterUrl"] = $"http://127.0.0.1:{((IPEndPoint)hung.LocalEndpoint).Port}",
            ["SseGateway__PersisterTimeout"] = "00:00:00.500",
        }).WaitReadyAsync();

        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var events = await SseClient.ReadAsync(gateway.Http, $"/v1/runs/{Run}/stream", null, e => e.Count >= 1 + 40, TimeSpan.FromSeconds(30));
        var took = System.Diagnostics.Stopwatch.GetElapsedTime(started);

        Assert.Equal(Notice, events[0].Type);
        Assert.Equal("persister_timeout", JsonDocument.Parse(events[0].Data).RootElement.GetProperty("reason").GetString());
        Assert.Equal(Enumerable.Range(61, 40).Select(i => (long)i), events.Skip(1).Select(Seq));
        Output.WriteLine($"history served without a hung persister in {took.TotalMilliseconds:F0} ms (timeout 500 ms)");
        Assert.InRange(took, TimeSpan.FromMilliseconds(450), TimeSpan.FromSeconds(10));
        Assert.Equal(1, UnavailableCount(await gateway.Http.GetStringAsync("/metrics"), "persister_timeout"));
    }

    private static void AssertNotice(SseEvent notice, string after, string before)
    {
        Assert.Equal(Notice, notice.Type);
        Assert.Null(notice.Id);
        var data = JsonDocument.Parse(notice.Data).RootElement;
        Assert.Equal(Run, data.GetProperty("run_id").GetString());
        Assert.Equal(after, data.GetProperty("after").GetString());
        Assert.Equal(before, data.GetProperty("before").GetString());
        Assert.Equal("persister_unreachable", data.GetProperty("reason").GetString());
    }

    private static long UnavailableCount(string metrics, string reason) =>
        UnavailableLine().Matches(metrics).Where(m => m.Groups[1].Value == reason).Sum(m => long.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture));

    [GeneratedRegex(@"arena_sse_history_unavailable_total\{[^}]*reason=""([a-z_]+)""[^}]*\} (\d+)")]
    private static partial Regex UnavailableLine();
}
