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

        var samples = Bootstrap(encoded, models.Count, rounds, seed);
        var intervals = Enumerable.Range(0, models.Count).Select(m =>
        {
            var values = samples.Select(s => s[m]).Where(v => !double.IsNaN(v)).Order().ToArray();
            return values.Length == 0 ? (ratings[m], ratings[m]) : (Percentile(values, 0.025), Percentile(values, 0.975));
        }).ToArray();

        var online = OnlineElo(canonical.Zip(encoded).OrderBy(pair => (pair.First.StreamOrder.Ms, pair.First.StreamOrder.Seq, pair.First.StreamOrder.Partition)).Select(pair => pair.Second), models.Count);

        return [.. models.Select((model, m) => new ModelRating(
            model,
            ratings[m],
            intervals[m].Item1,
            intervals[m].Item2,
            1 + intervals.Count(other => other.Item1 > intervals[m].Item2),
            online[m]))];
    }

    /// <summary>Each round refits a resample of whole games; a model absent from a resample has no value in that round.</summary>
    private static double[][] Bootstrap(List<(int[] Models, int[] Ranks)> games, int modelCount, int rounds, ulong seed)
    {
        // Round r's generator starts from the r-th output of a generator seeded with the seed, so
        // the rounds' streams start at unrelated points of SplitMix64's cycle and are independent
        // resamples. Seeds taken in round order keep the result independent of thread scheduling.
        var seeds = new SplitMix64(seed);
        var roundSeeds = new ulong[rounds];
        for (var round = 0; round < rounds; round++)
        {
            roundSeeds[round] = seeds.Next();
        }
        var samples = new double[rounds][];
        Parallel.For(0, rounds, round =>
        {
            var random = new SplitMix64(roundSeeds[round]);
            var data = new PairwiseWins(modelCount);
            var present = new bool[modelCount];
            for (var i = 0; i < games.Count; i++)
            {
                var game = games[(int)(random.Next() % (ulong)games.Count)];
                data.Add(game.Models, game.Ranks);
                foreach (var m in game.Models)
                {
                    present[m] = true;
                }
            }
            var fitted = BradleyTerry.Fit(data);
            samples[round] = [.. fitted.Select((r, m) => present[m] ? r : double.NaN)];
        });
        return samples;
    }

    /// <summary>Percentile with linear interpolation between order statistics.</summary>
    private static double Percentile(double[] sorted, double q)
    {
        var position = q * (sorted.Length - 1);
        var low = (int)Math.Floor(position);
        var high = Math.Min(low + 1, sorted.Length - 1);
        return sorted[low] + (sorted[high] - sorted[low]) * (position - low);
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

/// <summary>SplitMix64: a tiny, fully specified generator, so bootstrap samples never depend on the runtime's Random.</summary>
internal struct SplitMix64(ulong state)
{
    private ulong _state = state;

    public ulong Next()
    {
        var z = _state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
