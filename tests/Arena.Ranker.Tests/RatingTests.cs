using Arena.Ranker.Rating;
using static Arena.Ranker.Tests.Games;

namespace Arena.Ranker.Tests;

/// <summary>The fitting code is pure: the design vectors of docs/api.md (The leaderboard) and the invariants a leaderboard must keep.</summary>
public sealed class RatingTests
{
    private static Dictionary<string, ModelRating> Fit(IEnumerable<Game> games, int rounds = 100) =>
        Leaderboard.Compute(games, rounds, 42).ToDictionary(r => r.Model);

    [Fact]
    public void Three_wins_to_one()
    {
        var ratings = Fit([Win("A", "B"), Win("A", "B"), Win("A", "B"), Win("B", "A")]);

        Assert.Equal(1095.4243, ratings["A"].Rating, 1e-3);
        Assert.Equal(904.5757, ratings["B"].Rating, 1e-3);
    }

    [Fact]
    public void Two_wins_one_loss_one_tie()
    {
        var ratings = Fit([Win("A", "B"), Win("A", "B"), Win("B", "A"), Tie("A", "B")]);

        Assert.Equal(1044.3697, ratings["A"].Rating, 1e-3);
        Assert.Equal(955.6303, ratings["B"].Rating, 1e-3);
    }

    [Fact]
    public void Online_elo_takes_games_in_stream_order()
    {
        var ratings = Fit([Win("A", "B"), Win("B", "A"), Tie("A", "B")]);

        Assert.Equal(999.97724, ratings["A"].EloOnline, 1e-5);
        Assert.Equal(1000.02276, ratings["B"].EloOnline, 1e-5);
    }

    [Fact]
    public void Permuting_the_games_changes_nothing_but_online_elo()
    {
        var games = Tournament(seed: 3, games: 300);
        var shuffled = games.OrderBy(_ => Random.Shared.Next()).ToList();

        var a = Fit(games);
        var b = Fit(shuffled);

        foreach (var model in a.Keys)
        {
            Assert.Equal(a[model].Rating, b[model].Rating, 1e-9);
            Assert.Equal(a[model].CiLow, b[model].CiLow, 1e-9);
            Assert.Equal(a[model].CiHigh, b[model].CiHigh, 1e-9);
            Assert.Equal(a[model].Rank, b[model].Rank);
        }
    }

    [Fact]
    public void Duplicated_games_count_once()
    {
        var games = Tournament(seed: 4, games: 100);

        Assert.Equal(Fit(games)["m0"].Rating, Fit([.. games, .. games.Take(30)])["m0"].Rating, 1e-9);
    }

    [Fact]
    public void Ratings_average_one_thousand()
    {
        var ratings = Fit(Tournament(seed: 5, games: 200));

        Assert.Equal(1000, ratings.Values.Average(r => r.Rating), 1e-9);
    }

    [Fact]
    public void Adding_a_game_a_model_won_never_lowers_its_rating()
    {
        var games = Tournament(seed: 6, games: 150);
        var before = Fit(games, rounds: 1);

        foreach (var loser in new[] { "m1", "m2", "m3" })
        {
            var after = Fit([.. games, Win("m0", loser)], rounds: 1);
            Assert.True(after["m0"].Rating >= before["m0"].Rating, $"beating {loser} lowered m0");
        }
    }

    [Fact]
    public void A_model_with_only_wins_gets_a_finite_rating_from_the_weak_prior()
    {
        var ratings = Fit([Win("A", "B"), Win("A", "B"), Win("B", "C"), Win("C", "B")]);

        Assert.All(ratings.Values, r => Assert.True(double.IsFinite(r.Rating) && double.IsFinite(r.CiLow) && double.IsFinite(r.CiHigh)));
        Assert.True(ratings["A"].Rating > ratings["B"].Rating);
        Assert.Equal(1000, ratings.Values.Average(r => r.Rating), 1e-9);
    }

    [Fact]
    public void Multiplayer_games_order_models_by_their_finishing_places()
    {
        // Eight-player free-for-alls where better models tend to finish higher.
        var random = new Random(7);
        var strength = Enumerable.Range(0, 8).ToDictionary(i => $"m{i}", i => 800 - i * 60.0);
        var games = Enumerable.Range(0, 400).Select(_ =>
        {
            var order = strength.OrderByDescending(s => s.Value + 150 * Gumbel(random)).Select(s => s.Key).ToList();
            return G([.. order.Select((m, i) => (m, i + 1))]);
        }).ToList();

        var ratings = Fit(games);

        var byRating = ratings.Values.OrderByDescending(r => r.Rating).Select(r => r.Model).ToList();
        Assert.Equal(["m0", "m1", "m2", "m3", "m4", "m5", "m6", "m7"], byRating);
        Assert.Equal(1, ratings["m0"].Rank);
        Assert.True(ratings["m7"].Rank > 1);
    }

    [Fact]
    public void A_four_player_game_weights_each_pair_one_third()
    {
        // One four-player game equals three pairwise results per player, each worth 1/3.
        var ratings = Fit([G(("A", 1), ("B", 2), ("C", 3), ("D", 4)), G(("D", 1), ("C", 2), ("B", 3), ("A", 4))]);

        Assert.Equal(ratings["A"].Rating, ratings["D"].Rating, 1e-6);
        Assert.Equal(ratings["B"].Rating, ratings["C"].Rating, 1e-6);
        Assert.Equal(1000, ratings["A"].Rating, 1e-6);
    }

    [Fact]
    public void Rank_counts_models_whose_interval_lies_entirely_above()
    {
        var ratings = Fit(Tournament(seed: 8, games: 600));

        foreach (var r in ratings.Values)
        {
            Assert.Equal(1 + ratings.Values.Count(o => o.CiLow > r.CiHigh), r.Rank);
            Assert.True(r.CiLow < r.CiHigh);
        }
        Assert.True(ratings["m0"].Rank < ratings["m3"].Rank);
    }

    private static List<Game> Tournament(int seed, int games)
    {
        var random = new Random(seed);
        var strength = new Dictionary<string, double> { ["m0"] = 300, ["m1"] = 150, ["m2"] = 0, ["m3"] = -150 };
        var models = strength.Keys.ToArray();
        return [.. Enumerable.Range(0, games).Select(_ =>
        {
            var a = models[random.Next(4)];
            var b = models.Where(m => m != a).ElementAt(random.Next(3));
            var p = 1 / (1 + Math.Pow(10, (strength[b] - strength[a]) / 400));
            var u = random.NextDouble();
            return u < 0.05 ? Tie(a, b) : u < p ? Win(a, b) : Win(b, a);
        })];
    }

    private static double Gumbel(Random random) => -Math.Log(-Math.Log(Math.Clamp(random.NextDouble(), 1e-12, 1 - 1e-12)));
}
