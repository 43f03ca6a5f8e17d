using Arena.Contracts;
using Arena.Ranker.Rating;
using Arena.Ranker.Storage;
using Arena.Storage;
using static Arena.Ranker.Tests.Games;

namespace Arena.Ranker.Tests;

/// <summary>
/// Per-game leaderboards depend only on the set of games and the runs' game_starts: each equals a
/// from-scratch fit of that game's games, whatever order results and game_starts arrive in.
/// </summary>
public sealed class PerGameLeaderboardTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("arena-ranker-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static Dictionary<string, ModelRating> Fit(IEnumerable<Game> games) =>
        Leaderboard.Compute(games, 50, 42).ToDictionary(r => r.Model);

    private static void AssertSameBoard(IEnumerable<Game> expected, IEnumerable<Game> actual)
    {
        var (a, b) = (Fit(expected), Fit(actual));
        Assert.Equal(a.Keys.Order(), b.Keys.Order());
        foreach (var model in a.Keys)
        {
            Assert.Equal(a[model], b[model]);
        }
    }

    private static (List<Game> Chess, List<Game> Go, List<Game> Unknown) Tournament()
    {
        var random = new Random(5);
        var strength = new Dictionary<string, double> { ["A"] = 100, ["B"] = 0, ["C"] = -100 };
        return (Simulated(random, strength, 60), Simulated(random, strength, 40, ties: 0.1), Simulated(random, strength, 10));
    }

    private static RunInfo Run(int order, string game) => new((0, order, 0), game);

    [Fact]
    public void Each_game_board_equals_a_fit_of_that_games_games_and_runs_without_game_start_count_globally_only()
    {
        var (chess, go, unknown) = Tournament();
        var runs = chess.Select(g => (g.RunId, Run(0, "chess"))).Concat(go.Select(g => (g.RunId, Run(0, "go"))))
            .ToDictionary(r => r.RunId, r => r.Item2);
        var all = chess.Concat(go).Concat(unknown).OrderBy(g => g.StreamOrder).ToList();

        var (global, byGame) = BoardGames.Partition(all, runs);

        Assert.Equal(["chess", "go"], byGame.Keys);
        AssertSameBoard(chess, byGame["chess"]);
        AssertSameBoard(go, byGame["go"]);
        AssertSameBoard(all, global);
    }

    [Fact]
    public void Game_starts_and_results_stored_in_any_order_and_again_give_the_same_boards()
    {
        var (chess, go, _) = Tournament();
        var games = chess.Concat(go).ToList();
        var starts = games.Select((g, i) => new GameStartRow(0, new StreamId(i + 1, 0), g.RunId, i < chess.Count ? "chess" : "go")).ToList();
        var ends = games.Select((g, i) => g.Placements.Select((p, seat) =>
            new PlacementRow(0, new StreamId(10_000 + i, 0), seat, g.RunId, g.EventId, $"p{seat}", p.Model, p.Rank))).ToList();

        (List<Game>, SortedDictionary<string, List<Game>>) Boards(string dir, bool startsFirst, int seed)
        {
            using var store = RankerStore.Open(dir, new DuckDbOptions());
            var random = new Random(seed);
            var order = Enumerable.Range(0, games.Count).OrderBy(_ => random.Next()).ToList();
            foreach (var pass in startsFirst ? [true, false] : new[] { false, true })
            {
                foreach (var i in order)
                {
                    store.Write(pass ? [] : [.. ends[i]], pass ? [starts[i]] : [], [], [], []);
                }
            }
            // Redelivered: stored again, counted once.
            store.Write([.. ends.SelectMany(e => e)], starts, [], [], []);
            return BoardGames.Partition(store.Games(), store.Runs());
        }

        var (_, startsFirst) = Boards(Path.Combine(_dir, "a"), startsFirst: true, seed: 1);
        var (_, resultsFirst) = Boards(Path.Combine(_dir, "b"), startsFirst: false, seed: 2);
        using var reopened = RankerStore.Open(Path.Combine(_dir, "b"), new DuckDbOptions());
        var (_, fromFile) = BoardGames.Partition(reopened.Games(), reopened.Runs());

        foreach (var boards in new[] { startsFirst, resultsFirst, fromFile })
        {
            Assert.Equal(["chess", "go"], boards.Keys);
            AssertSameBoard(chess, boards["chess"]);
            AssertSameBoard(go, boards["go"]);
        }
    }

    [Fact]
    public void Games_of_runs_that_are_not_ranked_count_in_no_leaderboard()
    {
        var (chess, go, _) = Tournament();
        var runs = chess.Select((g, i) => (g.RunId, new RunInfo((0, 0, 0), "chess", Ranked: i % 3 != 0)))
            .Concat(go.Select(g => (g.RunId, new RunInfo((0, 0, 0), "go", Ranked: false))))
            .ToDictionary(r => r.RunId, r => r.Item2);

        var (global, byGame) = BoardGames.Partition([.. chess, .. go], runs);

        Assert.Equal(["chess"], byGame.Keys);
        var ranked = chess.Where((_, i) => i % 3 != 0).ToList();
        AssertSameBoard(ranked, byGame["chess"]);
        AssertSameBoard(ranked, global);
    }

    [Fact]
    public void A_run_plays_the_game_of_its_first_game_start_in_stream_order_ranked_or_not()
    {
        using var store = RankerStore.Open(_dir, new DuckDbOptions());

        store.Write([], [new GameStartRow(0, new StreamId(20, 0), "run-1", "go")], [], [], []);
        store.Write([], [new GameStartRow(0, new StreamId(10, 0), "run-1", "chess", Ranked: false)], [], [], []);
        store.Write([], [new GameStartRow(0, new StreamId(30, 0), "run-1", "shogi")], [], [], []);

        Assert.Equal(("chess", false), (store.Runs()["run-1"].Game, store.Runs()["run-1"].Ranked));
    }
}
