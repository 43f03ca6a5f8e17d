namespace Arena.Ranker.Rating;

/// <summary>Model <see cref="A"/>'s record against model <see cref="B"/>, from A's point of view.</summary>
public sealed record PairRecord(string A, string B, int Games, int Wins, int Losses, int Draws)
{
    /// <summary>(wins + draws/2) / games.</summary>
    public double WinRate => (Wins + Draws / 2.0) / Games;
}

/// <summary>
/// Head-to-head records: a game counts once for every pair of distinct models in it, each
/// model placed by its best rank there (a model seated twice meets itself not at all); the
/// better rank wins, equal ranks draw. Duplicated games (same run_id and event_id) count once.
/// </summary>
internal static class HeadToHead
{
    /// <summary>One record per ordered pair (a ≠ b) that met at least once, ordered by <paramref name="order"/> of a, then of b.</summary>
    public static IReadOnlyList<PairRecord> Compute(IEnumerable<Game> games, IReadOnlyList<string> order)
    {
        var counts = new Dictionary<(string A, string B), (int Games, int Wins, int Losses, int Draws)>();
        foreach (var game in games.DistinctBy(g => (g.RunId, g.EventId)))
        {
            var best = new Dictionary<string, int>(StringComparer.Ordinal);
            foreach (var p in game.Placements)
            {
                best[p.Model] = best.TryGetValue(p.Model, out var rank) ? Math.Min(rank, p.Rank) : p.Rank;
            }
            foreach (var (a, rankA) in best)
            {
                foreach (var (b, rankB) in best)
                {
                    if (a == b)
                    {
                        continue;
                    }
                    var (played, wins, losses, draws) = counts.GetValueOrDefault((a, b));
                    counts[(a, b)] = rankA < rankB ? (played + 1, wins + 1, losses, draws)
                        : rankA > rankB ? (played + 1, wins, losses + 1, draws)
                        : (played + 1, wins, losses, draws + 1);
                }
            }
        }
        var position = order.Select((m, i) => (m, i)).ToDictionary(x => x.m, x => x.i, StringComparer.Ordinal);
        return [.. counts
            .Select(c => new PairRecord(c.Key.A, c.Key.B, c.Value.Games, c.Value.Wins, c.Value.Losses, c.Value.Draws))
            .OrderBy(r => position.GetValueOrDefault(r.A, int.MaxValue)).ThenBy(r => r.A, StringComparer.Ordinal)
            .ThenBy(r => position.GetValueOrDefault(r.B, int.MaxValue)).ThenBy(r => r.B, StringComparer.Ordinal)];
    }
}
