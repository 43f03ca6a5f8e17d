using Arena.Pipeline.Tests.Infrastructure;

namespace Arena.Pipeline.Tests;

/// <summary>The viewer in a real headless browser (Debian's Chromium, driven by playwright-core).</summary>
public sealed class ViewerBrowserTests(ITestOutputHelper output)
{
    private static string Game(string runId, string first, string second) => Events.Array(
    [
        $$$"""{"event_id":"{{{runId}}}:1","run_id":"{{{runId}}}","seq":1,"type":"game_start","schema_version":1,"ts":"2026-11-23T10:00:00Z","payload":{"game":"aoe2","map":"Arabia","players":[{"player_id":"p1","model":"{{{first}}}"},{"player_id":"p2","model":"{{{second}}}"}]}}""",
        .. Enumerable.Range(2, 3).Select(seq => Events.TurnStart(runId, seq, $"{runId}:{seq}")),
        // A game's own error event: shown in the run, never taken for a dropped connection.
        $$$"""{"event_id":"{{{runId}}}:5","run_id":"{{{runId}}}","seq":5,"type":"error","schema_version":1,"ts":"2026-11-23T10:04:00Z","payload":{"player_id":"p2","message":"engine desync","fatal":false}}""",
        $$$"""{"event_id":"{{{runId}}}:6","run_id":"{{{runId}}}","seq":6,"type":"game_end","schema_version":1,"ts":"2026-11-23T10:05:00Z","payload":{"results":[{"player_id":"p1","model":"{{{first}}}","rank":1},{"player_id":"p2","model":"{{{second}}}","rank":2}]}}""",
    ]);

    private const string ReadToken = "viewer-read-token-3d8a";

    /// <summary>With a read token set, as a deployment would: the page takes it from its own URL and passes it on.</summary>
    [Fact]
    public async Task Viewer_shows_a_runs_events_and_the_leaderboard_changing()
    {
        Assert.True(Directory.Exists(Path.Combine(Repo.Root, "tests", "browser", "node_modules", "playwright-core")),
            "playwright-core is not installed: run 'make test' or scripts/ensure-browser.sh first");
        var dataDir = Repo.NewTempDir("viewer");
        try
        {
            await using var redis = await RedisServer.StartAsync(output);
            await using var ingest = await TestServices.Ingest(redis, output).WaitReadyAsync();
            var token = new Dictionary<string, string> { ["Arena__ReadToken"] = ReadToken };
            await using var persister = await TestServices.Persister(redis, dataDir, output, token).WaitReadyAsync();
            await using var ranker = await TestServices.Ranker(redis, dataDir, output, token).WaitReadyAsync();
            await using var gateway = await TestServices.Gateway(redis, output, persister,
                new Dictionary<string, string>(token) { ["SseGateway__RankerUrl"] = ranker.Url.ToString() }).WaitReadyAsync();
            await Events.AcceptedAsync(await Events.PostAsync(ingest.Http, Game("run-view", "gpt-5", "claude-opus-4")));

            var screenshot = Path.Combine(AppContext.BaseDirectory, "screenshots", "viewer.png");
            Directory.CreateDirectory(Path.GetDirectoryName(screenshot)!);
            await using var browser = ScriptProcess.Node(output, "viewer.mjs", $"{gateway.Url}?access_token={ReadToken}", "run-view", "6", screenshot);
            await Wait.UntilAsync(() => browser.HasExited || browser.Lines.Contains("READY"), "the viewer to show the run", TimeSpan.FromSeconds(90));
            // A second game: the open page must show the leaderboard change.
            await Events.AcceptedAsync(await Events.PostAsync(ingest.Http, Game("run-view-2", "claude-opus-4", "gpt-5")));

            Assert.True(await browser.WaitForExitAsync(TimeSpan.FromSeconds(120)) == 0, $"the browser script failed: {browser.Errors}");
            Assert.True(new FileInfo(screenshot).Length > 10_000, "the screenshot is empty");
            output.WriteLine($"screenshot: {screenshot}");
        }
        finally
        {
            Directory.Delete(dataDir, recursive: true);
        }
    }
}
