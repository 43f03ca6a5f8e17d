using System.Text.Json;
using Arena.Pipeline.Tests.Infrastructure;

namespace Arena.Pipeline.Tests;

/// <summary>The simulated arena, ingest, Redis and the persister, all real processes on loopback.</summary>
public sealed class EndToEndTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Simulated_games_arrive_complete_and_in_order_in_duckdb()
    {
        var dataDir = Repo.NewTempDir("e2e");
        try
        {
            await using var redis = await RedisServer.StartAsync(output);
            await using var ingest = await TestServices.Ingest(redis, output, new Dictionary<string, string> { ["Arena__ApiKeys"] = "sim-key" }).WaitReadyAsync();
            await using var persister = await TestServices.Persister(redis, dataDir, output).WaitReadyAsync();
            await using var ranker = await TestServices.Ranker(redis, dataDir, output).WaitReadyAsync();

            await using (var simulator = ServiceProcess.Start("arena-sim", Repo.Binary("tools/Arena.Simulator", "arena-sim"),
                new Dictionary<string, string> { ["ARENA_API_KEY"] = "sim-key" }, output.WriteLine,
                args: ["--ingest", ingest.Url.ToString(), "--games", "4", "--parallel", "2", "--turn-delay-ms", "0", "--seed", "7"]))
            {
                Assert.Equal(0, await simulator.WaitForExitAsync(TimeSpan.FromSeconds(120)));
            }

            JsonElement[] runs = [];
            await Wait.UntilAsync(async () =>
            {
                using var doc = JsonDocument.Parse(await persister.Http.GetStringAsync("/v1/runs"));
                // The pipeline's own run (leaderboard_updated, stream_overflow) is not a game.
                runs = [.. doc.RootElement.GetProperty("runs").EnumerateArray()
                    .Where(r => r.GetProperty("run_id").GetString() != Arena.Contracts.PipelineRun.Id).Select(r => r.Clone())];
                return runs.Length == 4 && runs.All(r => r.GetProperty("status").GetString() == "finished");
            }, "four finished runs");

            var seats = 0;
            foreach (var run in runs)
            {
                var runId = run.GetProperty("run_id").GetString()!;
                using var page = JsonDocument.Parse(await persister.Http.GetStringAsync($"/v1/runs/{runId}/events?limit=10000"));
                var events = page.RootElement.GetProperty("events").EnumerateArray().ToList();
                // Every event of the game, once, in the order the harness sent them.
                Assert.Equal(Enumerable.Range(1, events.Count).Select(i => (long)i), events.Select(e => e.GetProperty("seq").GetInt64()));
                Assert.Equal(run.GetProperty("events").GetInt64(), events.Count);
                Assert.Equal("game_start", events[0].GetProperty("type").GetString());
                Assert.Equal("game_end", events[^1].GetProperty("type").GetString());
                var players = events[0].GetProperty("payload").GetProperty("players").GetArrayLength();
                Assert.Equal(players, events[^1].GetProperty("payload").GetProperty("results").GetArrayLength());
                seats += players;
            }

            // The ranker saw the same games, and the statistics behind them.
            JsonElement board = default;
            await Wait.UntilAsync(async () =>
            {
                var response = await ranker.Http.GetAsync("/v1/leaderboard");
                board = response.IsSuccessStatusCode ? JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone() : default;
                return board.ValueKind == JsonValueKind.Object && board.GetProperty("games").GetInt32() == 4;
            }, "the leaderboard of the four games");
            var models = board.GetProperty("models").EnumerateArray().ToList();
            Assert.NotEmpty(models);
            Assert.Equal(seats, models.Sum(m => m.GetProperty("games").GetInt32()));
            Assert.All(models, m =>
            {
                Assert.True(m.GetProperty("tokens").GetInt64() > 0);
                Assert.True(m.GetProperty("avg_latency_ms").GetDouble() > 0);
                Assert.InRange(m.GetProperty("invalid_action_rate").GetDouble(), 0, 1);
                Assert.InRange(m.GetProperty("rating").GetDouble(), m.GetProperty("ci_low").GetDouble() - 1e-9, m.GetProperty("ci_high").GetDouble() + 1e-9);
            });
        }
        finally
        {
            Directory.Delete(dataDir, recursive: true);
        }
    }
}
