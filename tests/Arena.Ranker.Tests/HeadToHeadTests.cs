using Arena.Ranker.Rating;
using static Arena.Ranker.Tests.Games;

namespace Arena.Ranker.Tests;

/// <summary>Head-to-head records: every pair of models in a game, from each side, with wins, losses and draws.</summary>
public sealed class HeadToHeadTests
{
    private static Dictionary<(string, string), PairRecord> Pairs(IEnumerable<Game> games, params string[] order) =>
        HeadToHead.Compute(games, order).ToDictionary(p => (p.A, p.B));

    [Fact]
    public void A_three_player_game_counts_once_for_every_pair_from_both_sides()
    {
        var pairs = Pairs([G(("A", 1), ("B", 2), ("C", 3))], "A", "B", "C");

        Assert.Equal(6, pairs.Count);
        Assert.Equal(new PairRecord("A", "B", 1, 1, 0, 0), pairs[("A", "B")]);
        Assert.Equal(new PairRecord("B", "A", 1, 0, 1, 0), pairs[("B", "A")]);
        Assert.Equal(new PairRecord("B", "C", 1, 1, 0, 0), pairs[("B", "C")]);
        Assert.Equal(new PairRecord("C", "A", 1, 0, 1, 0), pairs[("C", "A")]);
    }

    [Fact]
    public void Equal_ranks_draw_and_the_win_rate_counts_a_draw_half()
    {
        var pairs = Pairs([Win("A", "B"), Win("A", "B"), Win("B", "A"), Tie("A", "B")], "A", "B");

        Assert.Equal(new PairRecord("A", "B", 4, 2, 1, 1), pairs[("A", "B")]);
        Assert.Equal(0.625, pairs[("A", "B")].WinRate);
        Assert.Equal(0.375, pairs[("B", "A")].WinRate);
    }

    [Fact]
    public void Models_that_never_met_have_no_record_and_duplicated_games_count_once()
    {
        var game = Win("A", "B");

        var pairs = Pairs([game, game, Win("C", "D")], "A", "B", "C", "D");

        Assert.Equal(1, pairs[("A", "B")].Games);
        Assert.False(pairs.ContainsKey(("A", "C")));
    }

    [Fact]
    public void A_model_seated_twice_is_placed_by_its_best_rank()
    {
        var pairs = Pairs([G(("A", 3), ("B", 2), ("A", 1))], "A", "B");

        Assert.Equal(2, pairs.Count);
        Assert.Equal(new PairRecord("A", "B", 1, 1, 0, 0), pairs[("A", "B")]);
    }

    [Fact]
    public void Pairs_follow_the_given_model_order()
    {
        var records = HeadToHead.Compute([G(("A", 1), ("B", 2), ("C", 3))], ["C", "A", "B"]);

        Assert.Equal([("C", "A"), ("C", "B"), ("A", "C"), ("A", "B"), ("B", "C"), ("B", "A")], records.Select(p => (p.A, p.B)));
    }
}
