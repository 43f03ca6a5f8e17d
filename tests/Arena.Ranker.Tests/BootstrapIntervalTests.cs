using Arena.Ranker.Rating;
using static Arena.Ranker.Tests.Games;

namespace Arena.Ranker.Tests;

/// <summary>
/// The 95% intervals against what statistics predicts: the analytic width, coverage of known true
/// ratings in simulation, and the method public arenas publish.
/// </summary>
public sealed class BootstrapIntervalTests
{
    private static Dictionary<string, ModelRating> Fit(IEnumerable<Game> games, int rounds = 100, ulong seed = 42) =>
        Leaderboard.Compute(games, rounds, seed).ToDictionary(r => r.Model);

    /// <summary>Two models, n games, win rate p: each rating is ± half the difference, whose standard error is 400/ln 10 / √(n·p·(1−p)).</summary>
    private static double AnalyticHalfWidth(int games, double p) =>
        1.96 * (400 / Math.Log(10)) / Math.Sqrt(games * p * (1 - p)) / 2;

    [Theory]
    [InlineData(200, 0.6)]
    [InlineData(1000, 0.6)]
    [InlineData(4000, 0.6)]
    [InlineData(200, 0.75)]
    [InlineData(1000, 0.75)]
    [InlineData(4000, 0.75)]
    public void Interval_width_matches_the_analytic_value_for_two_models(int games, double p)
    {
        var ratings = Fit(TwoModels("A", "B", games, p));

        var expected = AnalyticHalfWidth(games, p);
        Assert.All(ratings.Values, r => Assert.InRange((r.CiHigh - r.CiLow) / 2, 0.7 * expected, 1.3 * expected));
    }

    [Fact]
    public void Intervals_cover_the_true_ratings_about_95_percent_of_the_time()
    {
        var strength = new Dictionary<string, double> { ["a"] = 200, ["b"] = 100, ["c"] = 0, ["d"] = -150 };
        var truth = strength.ToDictionary(s => s.Key, s => s.Value - strength.Values.Average() + 1000);
        var random = new Random(2024);

        var intervals = Enumerable.Range(0, 300).SelectMany(board => Fit(Simulated(random, strength, 300), seed: (ulong)board).Values).ToList();

        var coverage = intervals.Count(r => r.CiLow <= truth[r.Model] && truth[r.Model] <= r.CiHigh) / (double)intervals.Count;
        Assert.InRange(coverage, 0.90, 0.99);
    }

    [Fact]
    public void Intervals_agree_with_the_fastchat_reference_method()
    {
        var strength = new Dictionary<string, double> { ["a"] = 150, ["b"] = 50, ["c"] = -25, ["d"] = -175 };
        var games = Simulated(new Random(11), strength, 2000, ties: 0.05);
        var battles = games.Select(g => new FastChatReference.Battle(g.Placements[0].Model, g.Placements[1].Model,
            g.Placements[0].Rank < g.Placements[1].Rank ? FastChatReference.Winner.ModelA
            : g.Placements[0].Rank > g.Placements[1].Rank ? FastChatReference.Winner.ModelB
            : FastChatReference.Winner.Tie)).ToList();

        // 1,000 rounds on both sides keep the Monte Carlo error of each percentile to a few per cent.
        var ours = Fit(games, rounds: 1000);
        var reference = FastChatReference.MleElo(battles);
        var referenceIntervals = FastChatReference.BootstrapIntervals(battles, 1000, new Random(12));

        foreach (var (model, rating) in ours)
        {
            var (low, high) = referenceIntervals[model];
            Assert.Equal(reference[model], rating.Rating, 1e-3);
            Assert.InRange((rating.CiHigh - rating.CiLow) / (high - low), 0.85, 1.15);
            Assert.InRange((rating.CiHigh + rating.CiLow) / 2 - (high + low) / 2, -3, 3);
        }
    }

    [Fact]
    public void A_model_missing_from_some_rounds_leaves_the_other_intervals_at_their_width_and_centre()
    {
        // C plays once: it is absent from about a third of the rounds and decides nothing about A and B.
        var ratings = Fit([.. TwoModels("A", "B", 2000, 0.6), Win("C", "B")]);

        var expected = AnalyticHalfWidth(2000, 0.6);
        foreach (var model in new[] { "A", "B" })
        {
            var r = ratings[model];
            Assert.InRange((r.CiHigh - r.CiLow) / 2, 0.7 * expected, 1.3 * expected);
            Assert.InRange((r.CiHigh + r.CiLow) / 2 - r.Rating, -expected / 4, expected / 4);
        }
        Assert.True(double.IsFinite(ratings["C"].CiLow) && ratings["C"].CiLow < ratings["C"].CiHigh);
    }

    [Fact]
    public void A_model_present_in_too_few_rounds_gets_an_interval_spanning_the_leaderboard()
    {
        // With four rounds, a model with one game among 1,001 is in fewer than two of them for about one seed in seven.
        List<Game> games = [.. TwoModels("A", "B", 1000, 0.7), Win("C", "B")];

        var boards = Enumerable.Range(0, 50).Select(seed => Fit(games, rounds: 4, seed: (ulong)seed)).ToList();

        var spanning = boards.Where(board =>
            board["C"].CiLow == board.Values.Min(r => Math.Min(r.Rating, r.CiLow)) &&
            board["C"].CiHigh == board.Values.Max(r => Math.Max(r.Rating, r.CiHigh))).ToList();
        Assert.NotEmpty(spanning);
        Assert.NotEqual(boards.Count, spanning.Count);
        Assert.All(spanning, board =>
        {
            Assert.Equal(1, board["C"].Rank);
            Assert.Equal(1 + (board["A"].CiLow > board["B"].CiHigh ? 1 : 0), board["B"].Rank);
        });
    }

    [Fact]
    public void Models_the_games_cannot_tell_apart_share_a_rank()
    {
        // 52% against 48% over 500 games is about 14 Elo apart, well inside the noise (±15 each).
        var ratings = Fit(TwoModels("A", "B", 500, 0.52));

        Assert.True(ratings["A"].Rating > ratings["B"].Rating);
        Assert.Equal(1, ratings["A"].Rank);
        Assert.Equal(1, ratings["B"].Rank);
    }

    [Fact]
    public void The_same_set_of_games_in_any_order_gives_the_same_leaderboard_bit_for_bit()
    {
        var games = Simulated(new Random(9), new Dictionary<string, double> { ["a"] = 100, ["b"] = 0, ["c"] = -100 }, 400, ties: 0.1);
        games.Add(Win("rare", "a"));

        var expected = Leaderboard.Compute(games, 100, 42);
        for (var attempt = 0; attempt < 5; attempt++)
        {
            var shuffled = games.OrderBy(_ => Random.Shared.Next()).ToList();
            var actual = Leaderboard.Compute(shuffled, 100, 42);
            Assert.Equal(
                expected.Select(r => (r.Model, r.Rating, r.CiLow, r.CiHigh, r.Rank)),
                actual.Select(r => (r.Model, r.Rating, r.CiLow, r.CiHigh, r.Rank)));
        }
    }
}
