namespace Arena.Ranker.Rating;

/// <summary>
/// 95% bootstrap intervals over whole games: each round resamples the games with replacement and
/// fits the models present in the resample by the rule the full data get (the prior only where
/// that round's MLE does not exist); the 2.5 and 97.5 percentiles of a model's values over the
/// rounds where it is present, with linear interpolation, are its interval.
/// </summary>
internal static class Bootstrap
{
    public static (double Low, double High)[] Intervals(List<(int[] Models, int[] Ranks)> games, PairwiseWins all, double[] ratings, int rounds, ulong seed)
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
        var weights = all.Comparisons();
        var samples = new double[rounds][];
        Parallel.For(0, rounds, round => samples[round] = Round(games, all.Models, ratings, weights, new SplitMix64(roundSeeds[round])));

        var intervals = new (double Low, double High)?[all.Models];
        for (var m = 0; m < all.Models; m++)
        {
            var values = samples.Select(s => s[m]).Where(v => !double.IsNaN(v)).Order().ToArray();
            intervals[m] = 2 * values.Length >= rounds ? (Percentile(values, 0.025), Percentile(values, 0.975)) : null;
        }
        // A model present in fewer than half the rounds cannot be placed by them: its interval
        // spans the whole leaderboard, so it ranks first and ranks no model below itself.
        var placed = intervals.OfType<(double Low, double High)>().ToList();
        var span = (Low: placed.Select(i => i.Low).Concat(ratings).Min(), High: placed.Select(i => i.High).Concat(ratings).Max());
        return [.. intervals.Select(i => i ?? span)];
    }

    /// <summary>
    /// One resample, fitted on the models present in it. Their ratings are shifted onto the point
    /// estimate's footing: the mean of their differences from the point estimate, each weighted by
    /// the model's comparisons in the full data, is zero. With every model present and equally
    /// played that is the point estimate's own rule (mean 1000). A model with a handful of games
    /// swings by a hundred Elo from round to round; under a plain mean each round would pass 1/n
    /// of that swing on to every other model as a common shift and widen every interval, while
    /// under its small share of the weight it stays in its own interval. Absent models get NaN.
    /// </summary>
    private static double[] Round(List<(int[] Models, int[] Ranks)> games, int modelCount, double[] ratings, double[] weights, SplitMix64 random)
    {
        var data = new PairwiseWins(modelCount);
        for (var i = 0; i < games.Count; i++)
        {
            var game = games[(int)(random.Next() % (ulong)games.Count)];
            data.Add(game.Models, game.Ranks);
        }
        var sample = Enumerable.Repeat(double.NaN, modelCount).ToArray();
        var present = data.Comparisons().Select((c, m) => (c, m)).Where(x => x.c > 0).Select(x => x.m).ToArray();
        if (present.Length == 0)
        {
            return sample;
        }
        var fitted = BradleyTerry.Fit(data.Among(present));

        var offset = present.Select((m, j) => weights[m] * (ratings[m] - fitted[j])).Sum() / present.Sum(m => weights[m]);
        for (var j = 0; j < present.Length; j++)
        {
            sample[present[j]] = fitted[j] + offset;
        }
        return sample;
    }

    /// <summary>Percentile with linear interpolation between order statistics.</summary>
    private static double Percentile(double[] sorted, double q)
    {
        var position = q * (sorted.Length - 1);
        var low = (int)Math.Floor(position);
        var high = Math.Min(low + 1, sorted.Length - 1);
        return sorted[low] + (sorted[high] - sorted[low]) * (position - low);
    }
}
