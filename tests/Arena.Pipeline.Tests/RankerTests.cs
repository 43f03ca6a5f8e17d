using System.Globalization;
using System.Text.Json;
using Arena.Contracts;
using Arena.Messaging;
using Arena.Pipeline.Tests.Infrastructure;
using StackExchange.Redis;

namespace Arena.Pipeline.Tests;

/// <summary>The ranker as a real process: games posted to ingest, the leaderboard read over HTTP.</summary>
public sealed class RankerTests(ITestOutputHelper output) : PipelineTest(output)
{
    protected override IDictionary<string, string>? IngestSettings => new Dictionary<string, string>();

    private int _runs;

    private async Task PostGamesAsync(IEnumerable<(string Model, int Rank)[]> games)
    {
        foreach (var chunk in games.Select(g => Events.GameEnd($"run-{Interlocked.Increment(ref _runs):D5}", g)).Chunk(50))
        {
            await Events.AcceptedAsync(await Events.PostAsync(Ingest.Http, Events.Array(chunk)));
        }
    }

    private static async Task<JsonElement> LeaderboardAsync(ServiceProcess ranker, int games)
    {
        JsonElement board = default;
        await Wait.UntilAsync(async () =>
        {
            var response = await ranker.Http.GetAsync("/v1/leaderboard");
            if (!response.IsSuccessStatusCode)
            {
                return false;
            }
            board = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
            return board.GetProperty("games").GetInt32() == games;
        }, $"a leaderboard of {games} games");
        return board;
    }

    private static Dictionary<string, JsonElement> ByModel(JsonElement board) =>
        board.GetProperty("models").EnumerateArray().ToDictionary(m => m.GetProperty("model").GetString()!);

    [Theory]
    [InlineData("A>B A>B A>B B>A", 1095.4243, 904.5757, 3, 1, 0)]
    [InlineData("A>B A>B B>A A=B", 1044.3697, 955.6303, 2, 1, 1)]
    public async Task Games_posted_to_ingest_give_the_design_vectors_on_the_leaderboard(
        string games, double expectedA, double expectedB, int winsA, int lossesA, int drawsA)
    {
        await using var ranker = await ServiceProcess.Ranker(Redis, DataDir, Output).WaitReadyAsync();
        var parsed = games.Split(' ').Select(g => g.Contains('=', StringComparison.Ordinal)
            ? new[] { (g[..1], 1), (g[2..], 1) }
            : [(g[..1], 1), (g[2..], 2)]).ToList();
        await PostGamesAsync(parsed);

        var board = ByModel(await LeaderboardAsync(ranker, 4));

        Assert.Equal(expectedA, board["A"].GetProperty("rating").GetDouble(), 1e-3);
        Assert.Equal(expectedB, board["B"].GetProperty("rating").GetDouble(), 1e-3);
        Assert.Equal(winsA, board["A"].GetProperty("wins").GetInt32());
        Assert.Equal(lossesA, board["A"].GetProperty("losses").GetInt32());
        Assert.Equal(drawsA, board["A"].GetProperty("draws").GetInt32());
        Assert.Equal(4, board["B"].GetProperty("games").GetInt32());

        using var model = JsonDocument.Parse(await ranker.Http.GetStringAsync("/v1/models/A"));
        Assert.Equal(board["A"].GetProperty("rating").GetDouble(), model.RootElement.GetProperty("rating").GetDouble());
        Assert.Equal(System.Net.HttpStatusCode.NotFound, (await ranker.Http.GetAsync("/v1/models/nobody")).StatusCode);
        // Each fit is announced on the stream.
        Assert.Contains(await Client.GetDatabase().StreamRangeAsync(StreamKeys.Events(0)), e => e[StreamFields.Type] == EventTypes.LeaderboardUpdated);
    }

    [Fact]
    public async Task Leaderboard_after_kill_9_restarts_equals_a_fresh_recompute()
    {
        var random = new Random(11);
        var models = new[] { "gpt-5", "claude-opus-4", "gemini-2.5-pro", "grok-4", "qwen3-235b" };
        List<(string, int)[]> Games(int count) => [.. Enumerable.Range(0, count).Select(_ =>
        {
            var players = models.OrderBy(_ => random.Next()).Take(random.Next(2, 5)).ToList();
            return players.Select((m, i) => (m, i + 1)).ToArray();
        })];

        var posted = 0;
        for (var crash = 0; crash < 3; crash++)
        {
            await using var ranker = await ServiceProcess.Ranker(Redis, DataDir, Output, new Dictionary<string, string> { ["Ranker__BatchSize"] = "20" }).WaitReadyAsync();
            var batch = Games(120);
            var posting = PostGamesAsync(batch);
            await Wait.UntilAsync(async () => (await Client.GetDatabase().StreamGroupInfoAsync(StreamKeys.Events(0)))
                .Any(g => g.Name == "ranker" && g.EntriesRead > posted + 40), "the ranker to make progress");
            await ranker.KillAsync();
            await posting;
            posted += batch.Count;
        }

        await using var survivor = await ServiceProcess.Ranker(Redis, DataDir, Output).WaitReadyAsync();
        var survived = await LeaderboardAsync(survivor, posted);
        var freshDir = Paths.NewTempDir("ranker-fresh");
        try
        {
            await using var fresh = await ServiceProcess.Ranker(Redis, freshDir, Output, new Dictionary<string, string> { ["Ranker__Group"] = "ranker-fresh" }).WaitReadyAsync();
            var recomputed = await LeaderboardAsync(fresh, posted);

            var a = ByModel(survived);
            var b = ByModel(recomputed);
            Assert.Equal(a.Keys.Order(), b.Keys.Order());
            foreach (var model in a.Keys)
            {
                foreach (var field in new[] { "rating", "ci_low", "ci_high", "elo_online" })
                {
                    Assert.Equal(b[model].GetProperty(field).GetDouble(), a[model].GetProperty(field).GetDouble(), 1e-9);
                }
                foreach (var field in new[] { "rank", "games", "wins", "losses", "draws" })
                {
                    Assert.Equal(b[model].GetProperty(field).GetInt32(), a[model].GetProperty(field).GetInt32());
                }
            }
        }
        finally
        {
            Directory.Delete(freshDir, recursive: true);
        }
    }

    [Fact]
    public async Task Game_end_the_ranker_cannot_interpret_is_dead_lettered_and_the_rest_counted()
    {
        var db = Client.GetDatabase();
        await using var ranker = await ServiceProcess.Ranker(Redis, DataDir, Output).WaitReadyAsync();
        await PostGamesAsync([[("A", 1), ("B", 2)]]);
        // Written around ingest, as an older or foreign producer could: one result only, and a rank beyond the players.
        await db.StreamAddAsync(StreamKeys.Events(0), [new(StreamFields.Type, "game_end"), new(StreamFields.Envelope, Events.GameEnd("bad-1", ("A", 1)))]);
        await db.StreamAddAsync(StreamKeys.Events(0), [new(StreamFields.Type, "game_end"), new(StreamFields.Envelope, Events.GameEnd("bad-2", ("A", 1), ("B", 5)))]);
        await db.StreamAddAsync(StreamKeys.Events(0), [new(StreamFields.Type, "game_end"),
            new(StreamFields.Envelope, Events.GameEnd("bad-3", ("A", 1), ("B", 2)).Replace("\"schema_version\":1", "\"schema_version\":2", StringComparison.Ordinal))]);
        await PostGamesAsync([[("B", 1), ("A", 2)]]);

        await LeaderboardAsync(ranker, 2);
        await Wait.UntilAsync(async () => await db.StreamLengthAsync(StreamKeys.DeadLetters(0)) == 3, "three dead letters");

        var reasons = (await db.StreamRangeAsync(StreamKeys.DeadLetters(0))).Select(e => e[DeadLetters.Error].ToString()).ToList();
        Assert.Contains(reasons, r => r.Contains("1 results", StringComparison.Ordinal));
        Assert.Contains(reasons, r => r.Contains("rank 5", StringComparison.Ordinal));
        Assert.Contains(reasons, r => r.Contains("schema_version 2", StringComparison.Ordinal));
        Assert.All(await db.StreamRangeAsync(StreamKeys.DeadLetters(0)), e => Assert.Equal("ranker", e[DeadLetters.Group].ToString()));
    }
}
