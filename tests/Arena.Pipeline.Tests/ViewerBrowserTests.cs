using System.Globalization;
using Arena.Pipeline.Tests.Infrastructure;

namespace Arena.Pipeline.Tests;

/// <summary>The viewer in a real headless browser (Debian's Chromium, driven by playwright-core).</summary>
public sealed class ViewerBrowserTests(ITestOutputHelper output)
{
    private static string Game(string runId, string game, string first, string second, int fromSeq = 1) => Events.Array(
    [
        $$$"""{"event_id":"{{{runId}}}:1","run_id":"{{{runId}}}","seq":1,"type":"game_start","schema_version":1,"ts":"2026-11-23T10:00:00Z","payload":{"game":"{{{game}}}","map":"Arabia","players":[{"player_id":"p1","model":"{{{first}}}"},{"player_id":"p2","model":"{{{second}}}"}]}}""",
        .. Enumerable.Range(2, 3).Select(seq => Events.TurnStart(runId, seq, $"{runId}:{seq}")),
        // A game's own error event: shown in the run, never taken for a dropped connection.
        $$$"""{"event_id":"{{{runId}}}:5","run_id":"{{{runId}}}","seq":5,"type":"error","schema_version":1,"ts":"2026-11-23T10:04:00Z","payload":{"player_id":"p2","message":"engine desync","fatal":false}}""",
        $$$"""{"event_id":"{{{runId}}}:6","run_id":"{{{runId}}}","seq":6,"type":"game_end","schema_version":1,"ts":"2026-11-23T10:05:00Z","payload":{"results":[{"player_id":"p1","model":"{{{first}}}","rank":1},{"player_id":"p2","model":"{{{second}}}","rank":2}]}}""",
    ]);

    /// <summary><paramref name="count"/> turns of a run, one second apart in their <c>ts</c>.</summary>
    private static string Paced(string runId, int count) => Events.Array(Events.Run(runId, count).Select((e, i) =>
        e.Replace("2026-11-23T10:00:00.123Z", new DateTimeOffset(2026, 11, 23, 10, 0, i, TimeSpan.Zero).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture),
            StringComparison.Ordinal)));

    private const string ReadToken = "viewer-read-token-3d8a";
    private const int ReplayEvents = 8;

    /// <summary>
    /// With a read token set, as a deployment would: the page takes it from its own URL and passes
    /// it on. Screenshots of each view go to test-results/viewer/ under the repository.
    /// </summary>
    [Fact]
    public async Task Viewer_draws_the_leaderboard_shows_runs_by_deep_link_replays_at_pace_and_survives_a_gateway_restart()
    {
        Assert.True(Directory.Exists(Path.Combine(Repo.Root, "tests", "browser", "node_modules", "playwright-core")),
            "playwright-core is not installed: run 'make test' or scripts/ensure-browser.sh first");
        var dataDir = Repo.NewTempDir("viewer");
        var screenshots = Path.Combine(Repo.Root, "test-results", "viewer");
        try
        {
            await using var redis = await RedisServer.StartAsync(output);
            await using var ingest = await TestServices.Ingest(redis, output).WaitReadyAsync();
            var token = new Dictionary<string, string> { ["Arena__ReadToken"] = ReadToken };
            await using var persister = await TestServices.Persister(redis, dataDir, output, token).WaitReadyAsync();
            await using var ranker = await TestServices.Ranker(redis, dataDir, output, token).WaitReadyAsync();
            await using var gateway = await TestServices.Gateway(redis, output, persister,
                new Dictionary<string, string>(token) { ["SseGateway__RankerUrl"] = ranker.Url.ToString() }).WaitReadyAsync();
            await Events.AcceptedAsync(await Events.PostAsync(ingest.Http, Game("run-view", "aoe2", "gpt-5", "claude-opus-4")));
            await Events.AcceptedAsync(await Events.PostAsync(ingest.Http, Game("run-chess-1", "chess", "claude-opus-4", "gemini-3")));
            await Events.AcceptedAsync(await Events.PostAsync(ingest.Http, Game("run-chess-2", "chess", "gemini-3", "claude-opus-4")));
            await Events.AcceptedAsync(await Events.PostAsync(ingest.Http, Game("run-aoe2-2", "aoe2", "gpt-5", "gemini-3")));
            await Events.AcceptedAsync(await Events.PostAsync(ingest.Http, Paced("run-replay", ReplayEvents)));
            await Events.AcceptedAsync(await Events.PostAsync(ingest.Http, Events.Array(Events.Run("run-long", 60))));

            await using var browser = ScriptProcess.Node(output, "viewer.mjs", gateway.Url.ToString(), ReadToken, "run-view", "run-replay",
                ReplayEvents.ToString(CultureInfo.InvariantCulture), screenshots);
            await Wait.UntilAsync(() => browser.HasExited || browser.Lines.Contains("RESTART"), "the viewer to show the run", TimeSpan.FromSeconds(120));
            Assert.False(browser.HasExited, $"the browser script failed: {browser.Errors}");
            // The same gateway process comes back on its port; the open page must carry on by itself.
            await gateway.KillAsync();
            await gateway.RestartAsync();
            await Events.AcceptedAsync(await Events.PostAsync(ingest.Http, Events.Array(Events.Run("run-long", 5, 61))));
            await Events.AcceptedAsync(await Events.PostAsync(ingest.Http, Game("run-view-after-restart", "aoe2", "claude-opus-4", "gpt-5")));
            browser.WriteLine("POSTED");

            Assert.True(await browser.WaitForExitAsync(TimeSpan.FromSeconds(180)) == 0, $"the browser script failed: {browser.Errors}");
            Assert.Contains("DONE", browser.Lines);
            foreach (var shot in browser.Lines.Where(l => l.StartsWith("screenshot: ", StringComparison.Ordinal)).Select(l => l["screenshot: ".Length..]))
            {
                Assert.True(new FileInfo(shot).Length > 5_000, $"the screenshot {shot} is empty");
                output.WriteLine($"screenshot: {shot}");
            }
        }
        finally
        {
            Directory.Delete(dataDir, recursive: true);
        }
    }
}
