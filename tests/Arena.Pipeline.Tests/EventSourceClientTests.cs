using System.Globalization;
using System.Text.RegularExpressions;
using Arena.Contracts;
using Arena.Pipeline.Tests.Infrastructure;

namespace Arena.Pipeline.Tests;

/// <summary>
/// A WHATWG EventSource that nobody here wrote (the npm <c>eventsource</c> package) follows a
/// run through everything that happens to a gateway: a game's own <c>error</c> event, a trim
/// that empties the stream, a kill -9, a successor starting while Redis is down and then on
/// the empty stream. It reconnects by itself after network errors but gives up for good
/// after any answer other than 200: it must never stop, and must see every event once, in order.
/// </summary>
public sealed partial class EventSourceClientTests(ITestOutputHelper output) : PipelineTest(output)
{
    [GeneratedRegex(@"arena_sse_disconnects_total\{[^}]*reason=""not_ready""[^}]*\} (\d+)")]
    private static partial Regex NotReadyAnswers();

    protected override IDictionary<string, string>? IngestSettings => new Dictionary<string, string>();

    private const string RunId = "run-es";
    private const int ErrorSeq = 15;

    private static readonly Dictionary<string, string> GatewaySettings = new()
    {
        ["SseGateway__Retry"] = "00:00:00.200",
        ["SseGateway__JoinWait"] = "00:00:00.500",
    };

    private static string Event(int seq) => seq == ErrorSeq
        ? $$$"""{"event_id":"{{{RunId}}}:{{{seq}}}","run_id":"{{{RunId}}}","seq":{{{seq}}},"type":"error","schema_version":1,"ts":"2026-11-23T10:00:00Z","payload":{"player_id":"p1","message":"the game engine stalled","fatal":false}}"""
        : Events.TurnStart(RunId, seq, $"{RunId}:{seq}");

    private async Task PostAsync(int from, int to) =>
        await Events.AcceptedAsync(await Events.PostAsync(Ingest.Http, Events.Array(Enumerable.Range(from, to - from + 1).Select(Event))));

    private static List<string[]> Received(ScriptProcess client) =>
        [.. client.Lines.Where(l => l.StartsWith("EVENT ", StringComparison.Ordinal)).Select(l => l.Split(' '))];

    private static Task UntilReceivedAsync(ScriptProcess client, int count, string when) =>
        Wait.UntilAsync(() => client.HasExited || Received(client).Count >= count, $"the client to receive {count} events {when}");

    [Fact]
    public async Task EventSource_client_never_stops_and_gets_every_event_once_across_a_trim_a_gateway_kill_and_a_start_on_an_empty_stream()
    {
        // One entry per stream node: trimming with ~ removes every committed entry, so the stream can be trimmed empty.
        await Redis.CliAsync("CONFIG", "SET", "stream-node-max-entries", "1");
        await using var persister = await TestServices.Persister(Redis, DataDir, Output, new Dictionary<string, string>
        {
            ["Persister__TrimInterval"] = "00:00:00.100",
            ["Persister__RetainCount"] = "0",
            ["Persister__RetainFor"] = "00:00:00",
        }).WaitReadyAsync();
        var first = await TestServices.Gateway(Redis, Output, persister, GatewaySettings).WaitReadyAsync();
        var port = first.Port;
        await using var client = ScriptProcess.Node(Output, "follow.mjs", $"http://127.0.0.1:{port}/v1/runs/{RunId}/stream", "60");

        // Live, with a game's error event among them.
        await PostAsync(1, 30);
        await UntilReceivedAsync(client, 30, "live");
        await Wait.UntilAsync(async () => await Db.StreamLengthAsync(StreamKeys.Events(0)) == 0, "the trimmer to empty the stream");

        // The gateway dies; its successor starts on the same port while Redis is down, so it cannot join the stream.
        await first.KillAsync();
        await first.DisposeAsync();
        await Redis.KillAsync();
        await using var second = TestServices.Gateway(Redis, Output, persister, GatewaySettings, port);
        await Wait.UntilAsync(async () =>
        {
            try
            {
                var notReady = NotReadyAnswers().Match(await second.Http.GetStringAsync("/metrics"));
                return notReady.Success && int.Parse(notReady.Groups[1].Value, CultureInfo.InvariantCulture) >= 2;
            }
            catch (HttpRequestException)
            {
                return false;
            }
        }, "the client to be answered 'not ready' while Redis is down");

        // Redis returns with the stream empty; the client resumes with the last ID it saw, which the stream issued.
        await Redis.RestartAsync();
        await second.WaitReadyAsync();
        await Ingest.WaitReadyAsync();
        await PostAsync(31, 60);
        Assert.Equal(0, await client.WaitForExitAsync(TimeSpan.FromSeconds(60)));

        var received = Received(client);
        Assert.Equal(Enumerable.Range(1, 60).Select(i => i.ToString(CultureInfo.InvariantCulture)), received.Select(e => e[3]));
        Assert.Equal(60, received.Select(e => e[2]).Distinct().Count());
        var error = Assert.Single(received, e => e[4] == "error");
        Assert.Equal("arena.error", error[1]);
        Assert.DoesNotContain(client.Lines, l => l.StartsWith("ERROR-WITH-DATA", StringComparison.Ordinal) || l.StartsWith("STOPPED", StringComparison.Ordinal));
        Assert.Contains(client.Lines, l => l.StartsWith("CONNECTION-ERROR", StringComparison.Ordinal));
    }
}
