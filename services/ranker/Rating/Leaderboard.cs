namespace Arena.Ranker.Rating;

/// <summary>
/// The leaderboard as a pure function of the set of games: Bradley–Terry ratings, 95%
/// bootstrap intervals over whole games (fixed seed, games in canonical order: by run_id,
/// then the game_end's event_id), ranks by non-overlapping intervals, and online Elo in
/// stream-ID order. Duplicated games (same run_id and event_id) count once.
/// </summary>
internal static class Leaderboard
{
    public const double OnlineK = 4;

    public static IReadOnlyList<ModelRating> Compute(IEnumerable<Game> games, int rounds, ulong seed)
    {
        var canonical = games
            .DistinctBy(g => (g.RunId, g.EventId))
            .OrderBy(g => g.RunId, StringComparer.Ordinal)
            .ThenBy(g => g.EventId, StringComparer.Ordinal)
            .ToList();
        var models = canonical.SelectMany(g => g.Placements.Select(p => p.Model)).Distinct().Order(StringComparer.Ordinal).ToList();
        if (models.Count == 0)
        {
            return [];
        }
        var index = models.Select((m, i) => (m, i)).ToDictionary(x => x.m, x => x.i, StringComparer.Ordinal);
        var encoded = canonical
            .Select(g => (Models: g.Placements.Select(p => index[p.Model]).ToArray(), Ranks: g.Placements.Select(p => p.Rank).ToArray()))
            .ToList();

        var all = new PairwiseWins(models.Count);
        encoded.ForEach(g => all.Add(g.Models, g.Ranks));
        var ratings = BradleyTerry.Fit(all);

        var intervals = Bootstrap.Intervals(encoded, all, ratings, rounds, seed);

        var online = OnlineElo(canonical.Zip(encoded).OrderBy(pair => (pair.First.StreamOrder.Ms, pair.First.StreamOrder.Seq, pair.First.StreamOrder.Partition)).Select(pair => pair.Second), models.Count);

        return [.. models.Select((model, m) => new ModelRating(
            model,
            ratings[m],
            intervals[m].Low,
            intervals[m].High,
            1 + intervals.Count(other => other.Low > intervals[m].High),
            online[m]))];
    }

    /// <summary>Elo with k = 4 from 1000, games in order; each game updates all its pairs at once, each pair weighted 1/(n−1).</summary>
    public static double[] OnlineElo(IEnumerable<(int[] Models, int[] Ranks)> games, int modelCount)
    {
        var elo = Enumerable.Repeat(BradleyTerry.Mean, modelCount).ToArray();
        foreach (var (models, ranks) in games)
        {
            var n = models.Length;
            var delta = new double[n];
            for (var i = 0; i < n; i++)
            {
                for (var j = 0; j < n; j++)
                {
                    if (i == j || models[i] == models[j])
                    {
                        continue;
                    }
                    var expected = 1 / (1 + Math.Pow(10, (elo[models[j]] - elo[models[i]]) / BradleyTerry.Scale));
                    var score = ranks[i] < ranks[j] ? 1 : ranks[i] > ranks[j] ? 0 : 0.5;
                    delta[i] += OnlineK * (score - expected) / (n - 1);
                }
            }
            for (var i = 0; i < n; i++)
            {
                elo[models[i]] += delta[i];
            }
        }
        return elo;
    }
}
