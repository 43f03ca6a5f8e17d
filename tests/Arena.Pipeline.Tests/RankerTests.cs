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
        await using var ranker = await TestServices.Ranker(Redis, DataDir, Output).WaitReadyAsync();
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
    public async Task Head_to_head_counts_every_pair_of_each_game_from_both_sides()
    {
        await using var ranker = await TestServices.Ranker(Redis, DataDir, Output).WaitReadyAsync();
        await PostGamesAsync([
            [("A", 1), ("B", 2)],
            [("A", 1), ("B", 2)],
            [("B", 1), ("A", 2)],
            [("A", 1), ("B", 1)],
            [("C", 1), ("A", 2), ("B", 3)],
        ]);
        var board = await LeaderboardAsync(ranker, 5);

        using var document = JsonDocument.Parse(await ranker.Http.GetStringAsync("/v1/leaderboard/head-to-head"));
        var root = document.RootElement;

        Assert.Equal(JsonValueKind.Null, root.GetProperty("game").ValueKind);
        Assert.Equal(board.GetProperty("models").EnumerateArray().Select(m => m.GetProperty("model").GetString()),
            root.GetProperty("models").EnumerateArray().Select(m => m.GetString()));
        var pairs = root.GetProperty("pairs").EnumerateArray().ToDictionary(p => (p.GetProperty("a").GetString(), p.GetProperty("b").GetString()));
        Assert.Equal(6, pairs.Count);
        (int, int, int, int, double) Record(string a, string b)
        {
            var p = pairs[(a, b)];
            return (p.GetProperty("games").GetInt32(), p.GetProperty("wins").GetInt32(), p.GetProperty("losses").GetInt32(),
                p.GetProperty("draws").GetInt32(), p.GetProperty("win_rate").GetDouble());
        }
        Assert.Equal((5, 3, 1, 1, 0.7), Record("A", "B"));
        Assert.Equal((5, 1, 3, 1, 0.3), Record("B", "A"));
        Assert.Equal((1, 1, 0, 0, 1.0), Record("C", "A"));
        Assert.Equal((1, 0, 1, 0, 0.0), Record("B", "C"));

        using var unknown = await ranker.Http.GetAsync("/v1/leaderboard/head-to-head?game=nope");
        await AssertProblemAsync(unknown, System.Net.HttpStatusCode.NotFound, "unknown-game");
    }

    [Fact]
    public async Task History_grows_by_one_snapshot_per_fit_and_survives_a_restart()
    {
        JsonElement board;
        await using (var ranker = await TestServices.Ranker(Redis, DataDir, Output).WaitReadyAsync())
        {
            await PostGamesAsync([[("A", 1), ("B", 2)]]);
            await LeaderboardAsync(ranker, 1);
            Assert.Single(await SnapshotsAsync(ranker, ""));
            await PostGamesAsync([[("B", 1), ("A", 2)]]);
            await LeaderboardAsync(ranker, 2);
            await PostGamesAsync([[("A", 1), ("C", 2)]]);
            board = await LeaderboardAsync(ranker, 3);
            var snapshots = await SnapshotsAsync(ranker, "");
            Assert.Equal([1, 2, 3], snapshots.Select(s => s.GetProperty("games").GetInt32()));
            var newest = snapshots[^1].GetProperty("models").EnumerateArray().ToDictionary(m => m.GetProperty("model").GetString()!);
            foreach (var (model, entry) in ByModel(board))
            {
                foreach (var field in new[] { "rating", "ci_low", "ci_high" })
                {
                    Assert.Equal(entry.GetProperty(field).GetDouble(), newest[model].GetProperty(field).GetDouble());
                }
                Assert.Equal(entry.GetProperty("rank").GetInt32(), newest[model].GetProperty("rank").GetInt32());
            }
        }

        await using var restarted = await TestServices.Ranker(Redis, DataDir, Output).WaitReadyAsync();
        await LeaderboardAsync(restarted, 3);
        // The first fit after the restart equals the last snapshot: it adds none.
        var kept = await SnapshotsAsync(restarted, "");
        Assert.Equal([1, 2, 3], kept.Select(s => s.GetProperty("games").GetInt32()));
        Assert.All(kept, s => Assert.EndsWith("Z", s.GetProperty("at").GetString(), StringComparison.Ordinal));

        var newestOnly = await SnapshotsAsync(restarted, "?limit=1");
        Assert.Equal(3, Assert.Single(newestOnly).GetProperty("games").GetInt32());
        var onlyC = await SnapshotsAsync(restarted, "?model=C");
        Assert.Empty(onlyC[1].GetProperty("models").EnumerateArray());
        Assert.Equal("C", Assert.Single(onlyC[2].GetProperty("models").EnumerateArray()).GetProperty("model").GetString());

        foreach (var limit in new[] { "0", "5001", "ten", "-1" })
        {
            using var bad = await restarted.Http.GetAsync($"/v1/leaderboard/history?limit={limit}");
            await AssertProblemAsync(bad, System.Net.HttpStatusCode.BadRequest, "invalid-query");
        }
        using var unknown = await restarted.Http.GetAsync("/v1/leaderboard/history?game=nope");
        await AssertProblemAsync(unknown, System.Net.HttpStatusCode.NotFound, "unknown-game");
    }

    private static async Task<List<JsonElement>> SnapshotsAsync(ServiceProcess ranker, string query)
    {
        using var document = JsonDocument.Parse(await ranker.Http.GetStringAsync("/v1/leaderboard/history" + query));
        return [.. document.RootElement.GetProperty("snapshots").EnumerateArray().Select(s => s.Clone())];
    }

    private static async Task AssertProblemAsync(HttpResponseMessage response, System.Net.HttpStatusCode status, string slug)
    {
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal($"https://arena.dev/problems/{slug}", problem.RootElement.GetProperty("type").GetString());
    }

    private static string Envelope(string run, string eventId, int seq, string type, string payload) => string.Create(CultureInfo.InvariantCulture,
        $"{{\"event_id\":\"{eventId}\",\"run_id\":\"{run}\",\"seq\":{seq},\"type\":\"{type}\",\"schema_version\":1,\"ts\":\"2026-11-23T10:00:00Z\",\"payload\":{payload}}}");

    /// <summary>A game_start of <paramref name="run"/> seating p0, p1, … with the models of <paramref name="results"/>, as <see cref="Events.GameEnd"/> does.</summary>
    private static string GameStart(string run, string game, (string Model, int Rank)[] results, string extra = "") =>
        Envelope(run, run + ":start", 0, "game_start", $"{{\"game\":\"{game}\"{extra},\"players\":[" + string.Join(",", results.Select((r, i) => $"{{\"player_id\":\"p{i}\",\"model\":\"{r.Model}\"}}")) + "]}");

    private static string LlmResponse(string run, int seq, string model, double? cost) =>
        Envelope(run, $"{run}:{seq}", seq, "llm_response", string.Create(CultureInfo.InvariantCulture,
            $"{{\"turn\":1,\"player_id\":\"p0\",\"model\":\"{model}\",\"prompt_tokens\":10,\"completion_tokens\":5,\"latency_ms\":100{(cost is { } c ? $",\"cost_usd\":{c}" : "")}}}"));

    private static (string Model, int Rank)[][] Parse(string games) =>
        [.. games.Split(' ').Select(g => g.Contains('=', StringComparison.Ordinal)
            ? new[] { (g[..1], 1), (g[2..], 1) }
            : [(g[..1], 1), (g[2..], 2)])];

    /// <summary>Each game of <paramref name="games"/> in a run of its own with a game_start of <paramref name="game"/>, every other one posted after its game_end.</summary>
    private List<string> GamesOf(string game, string games, string extra = "")
    {
        var events = new List<string>();
        foreach (var (result, i) in Parse(games).Select((r, i) => (r, i)))
        {
            var run = $"{game}-{Interlocked.Increment(ref _runs):D5}";
            var (start, end) = (GameStart(run, game, result, extra), Events.GameEnd(run, result));
            events.AddRange(i % 2 == 0 ? [start, end] : [end, start]);
        }
        return events;
    }

    private static async Task<JsonElement> GetJsonAsync(ServiceProcess ranker, string path)
    {
        using var document = JsonDocument.Parse(await ranker.Http.GetStringAsync(path));
        return document.RootElement.Clone();
    }

    [Fact]
    public async Task Each_game_gets_its_own_leaderboard_equal_to_a_fit_of_its_games_alone()
    {
        var db = Client.GetDatabase();
        await using var ranker = await TestServices.Ranker(Redis, DataDir, Output).WaitReadyAsync();
        var events = GamesOf("chess", "A>B A>B A>B B>A").Concat(GamesOf("go", "A>B A>B B>A A=B")).ToList();
        events.AddRange([LlmResponse("chess-00001", 1, "A", 0.25), LlmResponse("chess-00002", 1, "A", 0.5), LlmResponse("go-00005", 1, "A", 1),
            LlmResponse("chess-00001", 2, "B", null)]);
        await Events.AcceptedAsync(await Events.PostAsync(Ingest.Http, Events.Array(events)));
        // A game whose run has no game_start counts in the global leaderboard only.
        await PostGamesAsync([[("C", 1), ("A", 2)]]);
        await LeaderboardAsync(ranker, 9);

        var list = await GetJsonAsync(ranker, "/v1/leaderboards");
        Assert.Equal([("chess", 4, 2), ("go", 4, 2)], list.GetProperty("leaderboards").EnumerateArray()
            .Select(b => (b.GetProperty("game").GetString()!, b.GetProperty("games").GetInt32(), b.GetProperty("models").GetInt32())));

        async Task<Dictionary<string, JsonElement>> BoardAsync(string game)
        {
            var board = await GetJsonAsync(ranker, $"/v1/leaderboard?game={game}");
            Assert.Equal(game, board.GetProperty("game").GetString());
            Assert.Equal(4, board.GetProperty("games").GetInt32());
            return ByModel(board);
        }
        var chess = await BoardAsync("chess");
        var go = await BoardAsync("go");
        // The design vectors: each game's leaderboard is a fit of its four games alone.
        Assert.Equal(1095.4243, chess["A"].GetProperty("rating").GetDouble(), 1e-3);
        Assert.Equal(904.5757, chess["B"].GetProperty("rating").GetDouble(), 1e-3);
        Assert.Equal(1044.3697, go["A"].GetProperty("rating").GetDouble(), 1e-3);
        Assert.Equal((3, 1, 0), (chess["A"].GetProperty("wins").GetInt32(), chess["A"].GetProperty("losses").GetInt32(), chess["A"].GetProperty("draws").GetInt32()));
        Assert.False(chess.ContainsKey("C"));

        // cost_usd: the sum of the model's reported costs, in all games and per game; null when none was reported.
        var global = await GetJsonAsync(ranker, "/v1/leaderboard");
        Assert.False(global.TryGetProperty("game", out _));
        Assert.Equal(1.75, ByModel(global)["A"].GetProperty("cost_usd").GetDouble(), 1e-12);
        Assert.Equal(0.75, chess["A"].GetProperty("cost_usd").GetDouble(), 1e-12);
        Assert.Equal(1.0, go["A"].GetProperty("cost_usd").GetDouble(), 1e-12);
        Assert.Equal(JsonValueKind.Null, chess["B"].GetProperty("cost_usd").ValueKind);
        Assert.Equal(JsonValueKind.Null, ByModel(global)["C"].GetProperty("cost_usd").ValueKind);

        var pairs = (await GetJsonAsync(ranker, "/v1/leaderboard/head-to-head?game=go")).GetProperty("pairs").EnumerateArray()
            .ToDictionary(p => (p.GetProperty("a").GetString(), p.GetProperty("b").GetString()));
        Assert.Equal((4, 1), (pairs[("A", "B")].GetProperty("games").GetInt32(), pairs[("A", "B")].GetProperty("draws").GetInt32()));
        var history = (await GetJsonAsync(ranker, "/v1/leaderboard/history?game=chess")).GetProperty("snapshots").EnumerateArray().ToList();
        Assert.Equal(4, history[^1].GetProperty("games").GetInt32());

        foreach (var path in new[] { "/v1/leaderboard?game=shogi", "/v1/leaderboard/head-to-head?game=shogi", "/v1/leaderboard/history?game=shogi" })
        {
            using var unknown = await ranker.Http.GetAsync(path);
            await AssertProblemAsync(unknown, System.Net.HttpStatusCode.NotFound, "unknown-game");
        }

        // Every event delivered once more: the leaderboards do not change.
        await db.ExecuteAsync("XGROUP", "SETID", StreamKeys.Events(0).ToString(), "ranker", "0");
        await PostGamesAsync([[("C", 1), ("B", 2)]]);
        await LeaderboardAsync(ranker, 10);
        foreach (var (game, before) in new[] { ("chess", chess), ("go", go) })
        {
            var after = await BoardAsync(game);
            foreach (var model in before.Keys)
            {
                Assert.Equal(before[model].GetProperty("rating").GetDouble(), after[model].GetProperty("rating").GetDouble());
                Assert.Equal(before[model].GetProperty("ci_low").GetDouble(), after[model].GetProperty("ci_low").GetDouble());
                Assert.Equal(before[model].GetProperty("cost_usd").ToString(), after[model].GetProperty("cost_usd").ToString());
            }
        }
    }

    [Fact]
    public async Task A_run_whose_game_start_says_ranked_false_counts_in_no_leaderboard_history_head_to_head_or_statistics()
    {
        await using var ranker = await TestServices.Ranker(Redis, DataDir, Output).WaitReadyAsync();
        var events = GamesOf("chess", "A>B B>A", extra: ",\"ranked\":true");
        events.AddRange(GamesOf("chess", "T>A T>B", extra: ",\"ranked\":false"));
        events.AddRange([LlmResponse("chess-00001", 1, "A", 0.25), LlmResponse("chess-00003", 1, "A", 8), LlmResponse("chess-00003", 2, "T", 1)]);
        // Every game of the test game is a test run: it gets no leaderboard.
        events.AddRange(GamesOf("scratch", "A>T", extra: ",\"ranked\":false"));
        await Events.AcceptedAsync(await Events.PostAsync(Ingest.Http, Events.Array(events)));
        var board = await LeaderboardAsync(ranker, 2);

        void AssertRankedOnly(JsonElement leaderboard)
        {
            var models = ByModel(leaderboard);
            Assert.Equal(["A", "B"], models.Keys.Order());
            Assert.Equal(2, models["A"].GetProperty("games").GetInt32());
            Assert.Equal(0.25, models["A"].GetProperty("cost_usd").GetDouble(), 1e-12);
            Assert.Equal(15, models["A"].GetProperty("tokens").GetInt64());
        }
        AssertRankedOnly(board);
        AssertRankedOnly(await GetJsonAsync(ranker, "/v1/leaderboard?game=chess"));
        Assert.Equal(["chess"], (await GetJsonAsync(ranker, "/v1/leaderboards")).GetProperty("leaderboards").EnumerateArray().Select(b => b.GetProperty("game").GetString()));
        var pairs = (await GetJsonAsync(ranker, "/v1/leaderboard/head-to-head")).GetProperty("pairs").EnumerateArray().ToList();
        Assert.Equal(2, pairs.Count);
        Assert.All(pairs, p => Assert.Equal(2, p.GetProperty("games").GetInt32()));
        var history = (await GetJsonAsync(ranker, "/v1/leaderboard/history")).GetProperty("snapshots").EnumerateArray().ToList();
        Assert.All(history, s => Assert.DoesNotContain(s.GetProperty("models").EnumerateArray(), m => m.GetProperty("model").GetString() == "T"));
        using var unknown = await ranker.Http.GetAsync("/v1/leaderboard?game=scratch");
        await AssertProblemAsync(unknown, System.Net.HttpStatusCode.NotFound, "unknown-game");

        // A game_end counted before its run's game_start said ranked: false leaves the leaderboards when it arrives.
        await PostGamesAsync([[("T", 1), ("A", 2)]]);
        await LeaderboardAsync(ranker, 3);
        var late = $"run-{_runs:D5}";
        await Events.AcceptedAsync(await Events.PostAsync(Ingest.Http, Events.Array([GameStart(late, "chess", [("T", 1), ("A", 2)], ",\"ranked\":false")])));
        AssertRankedOnly(await LeaderboardAsync(ranker, 2));
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
            await using var ranker = await TestServices.Ranker(Redis, DataDir, Output, new Dictionary<string, string> { ["Ranker__BatchSize"] = "20" }).WaitReadyAsync();
            var batch = Games(120);
            var posting = PostGamesAsync(batch);
            await Wait.UntilAsync(async () => (await Client.GetDatabase().StreamGroupInfoAsync(StreamKeys.Events(0)))
                .Any(g => g.Name == "ranker" && g.EntriesRead > posted + 40), "the ranker to make progress");
            await ranker.KillAsync();
            await posting;
            posted += batch.Count;
        }

        await using var survivor = await TestServices.Ranker(Redis, DataDir, Output).WaitReadyAsync();
        var survived = await LeaderboardAsync(survivor, posted);
        var freshDir = Repo.NewTempDir("ranker-fresh");
        try
        {
            await using var fresh = await TestServices.Ranker(Redis, freshDir, Output, new Dictionary<string, string> { ["Ranker__Group"] = "ranker-fresh" }).WaitReadyAsync();
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
    public async Task Model_statistics_after_kill_9_restarts_equal_those_of_the_events_posted()
    {
        var random = new Random(23);
        var models = new[] { "gpt-5", "claude-opus-4", "gemini-2.5-pro" };
        var calls = new Dictionary<string, (int Calls, double LatencyMs, long Tokens)>();
        var seats = new Dictionary<(string Run, string Player), string>();
        var moves = new Dictionary<(string Run, string Player), (int Actions, int Invalid)>();
        string Envelope(string run, int seq, string type, string payload) => string.Create(CultureInfo.InvariantCulture,
            $"{{\"event_id\":\"{run}:{seq}\",\"run_id\":\"{run}\",\"seq\":{seq},\"type\":\"{type}\",\"schema_version\":1,\"ts\":\"2026-11-23T10:00:00Z\",\"payload\":{payload}}}");
        List<string> Game(int number)
        {
            var run = $"stats-{number:D3}";
            var players = models.OrderBy(_ => random.Next()).Take(2).ToArray();
            var events = new List<string>();
            var seq = 0;
            foreach (var turn in Enumerable.Range(1, random.Next(1, 6)))
            {
                for (var p = 0; p < players.Length; p++)
                {
                    var (prompt, completion, latency) = (random.Next(10, 900), random.Next(1, 300), Math.Round(random.NextDouble() * 3000, 3));
                    var c = calls.GetValueOrDefault(players[p]);
                    calls[players[p]] = (c.Calls + 1, c.LatencyMs + latency, c.Tokens + prompt + completion);
                    events.Add(Envelope(run, ++seq, "llm_response", string.Create(CultureInfo.InvariantCulture,
                        $"{{\"turn\":{turn},\"player_id\":\"p{p}\",\"model\":\"{players[p]}\",\"prompt_tokens\":{prompt},\"completion_tokens\":{completion},\"latency_ms\":{latency}}}")));
                    var valid = random.Next(5) > 0;
                    var m = moves.GetValueOrDefault((run, $"p{p}"));
                    moves[(run, $"p{p}")] = (m.Actions + 1, m.Invalid + (valid ? 0 : 1));
                    events.Add(Envelope(run, ++seq, "action", $"{{\"turn\":{turn},\"player_id\":\"p{p}\",\"action\":\"e4\",\"valid\":{(valid ? "true" : "false")}}}"));
                }
            }
            for (var p = 0; p < players.Length; p++)
            {
                seats[(run, $"p{p}")] = players[p];
            }
            // Every fifth game's seats arrive after its moves: the moves still count for the models that took the seats.
            var start = Envelope(run, 0, "game_start", $"{{\"game\":\"chess\",\"players\":[{{\"player_id\":\"p0\",\"model\":\"{players[0]}\"}},{{\"player_id\":\"p1\",\"model\":\"{players[1]}\"}}]}}");
            events.Insert(number % 5 == 0 ? events.Count : 0, start);
            events.Add(Events.GameEnd(run, (players[0], 1), (players[1], 2)));
            return events;
        }

        var games = 0;
        for (var crash = 0; crash < 2; crash++)
        {
            await using var ranker = await TestServices.Ranker(Redis, DataDir, Output, new Dictionary<string, string> { ["Ranker__BatchSize"] = "7" }).WaitReadyAsync();
            var batch = Enumerable.Range(games, 30).SelectMany(Game).ToList();
            var read = (await Client.GetDatabase().StreamGroupInfoAsync(StreamKeys.Events(0))).SingleOrDefault(g => g.Name == "ranker").EntriesRead ?? 0;
            var posting = Task.Run(async () =>
            {
                foreach (var chunk in batch.Chunk(25))
                {
                    await Events.AcceptedAsync(await Events.PostAsync(Ingest.Http, Events.Array(chunk)));
                }
            });
            await Wait.UntilAsync(async () => (await Client.GetDatabase().StreamGroupInfoAsync(StreamKeys.Events(0)))
                .Any(g => g.Name == "ranker" && g.EntriesRead > read + batch.Count / 2), "the ranker to make progress");
            await ranker.KillAsync();
            await posting;
            games += 30;
        }

        async Task StatsAsExpectedAsync(ServiceProcess ranker, string what)
        {
            // A killed ranker's entries in hand go to its successor once idle for the claim threshold (1 s here): a successor that
            // starts and catches up sooner would fit without them. Once none is pending, a new game makes the ranker fit with them all.
            await Wait.UntilAsync(async () => (await Client.GetDatabase().StreamPendingAsync(StreamKeys.Events(0), "ranker")).PendingMessageCount == 0,
                "the killed rankers' entries to be claimed and handled");
            await Events.AcceptedAsync(await Events.PostAsync(Ingest.Http, Events.Array(Game(games++))));
            var expected = models.ToDictionary(m => m, m =>
            {
                var played = moves.Where(x => seats[x.Key] == m).Select(x => x.Value).ToList();
                return (Latency: calls[m].LatencyMs / calls[m].Calls, calls[m].Tokens, Invalid: (double)played.Sum(x => x.Invalid) / played.Sum(x => x.Actions));
            });
            var board = ByModel(await LeaderboardAsync(ranker, games));
            Assert.Equal(models.Order(), board.Keys.Order());
            foreach (var (model, (latency, tokens, invalid)) in expected)
            {
                Assert.True(tokens == board[model].GetProperty("tokens").GetInt64(), $"{what}: {model} tokens {board[model].GetProperty("tokens")}, posted {tokens}");
                Assert.Equal(latency, board[model].GetProperty("avg_latency_ms").GetDouble(), 1e-9);
                Assert.Equal(invalid, board[model].GetProperty("invalid_action_rate").GetDouble(), 1e-9);
            }
        }

        await using (var survivor = await TestServices.Ranker(Redis, DataDir, Output).WaitReadyAsync())
        {
            await StatsAsExpectedAsync(survivor, "after the kills");
            // Every event delivered once more, as `arena replay --group ranker` does: nothing may count twice.
            await Client.GetDatabase().ExecuteAsync("XGROUP", "SETID", StreamKeys.Events(0).ToString(), "ranker", "0");
            await StatsAsExpectedAsync(survivor, "after every event was delivered again");
        }
        await using var restarted = await TestServices.Ranker(Redis, DataDir, Output).WaitReadyAsync();
        await StatsAsExpectedAsync(restarted, "from the file alone");
    }

    [Fact]
    public async Task Game_end_the_ranker_cannot_interpret_is_dead_lettered_and_the_rest_counted()
    {
        var db = Client.GetDatabase();
        await using var ranker = await TestServices.Ranker(Redis, DataDir, Output).WaitReadyAsync();
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
