namespace Arena.Ranker.Rating;

/// <summary>
/// Bradley–Terry maximum likelihood on the Elo scale (400 points = a factor of 10 in odds),
/// fitted with Hunter's MM algorithm; ratings sum to zero, then are shifted to mean 1000.
/// Where the MLE does not exist (a model with only wins or only losses, or groups of models
/// that never met), every model also plays a virtual opponent rated 1000 to one tie
/// (<see cref="PriorTies"/>): a weak prior that keeps ratings finite and changes nothing
/// where the data alone decide.
/// </summary>
internal static class BradleyTerry
{
    public const double Scale = 400;
    public const double Mean = 1000;
    public const double PriorTies = 1;
    private const int MaxIterations = 100_000;
    private const double Tolerance = 1e-12;

    /// <summary>Ratings for models 0..n−1; a model without comparisons gets the mean.</summary>
    public static double[] Fit(PairwiseWins data)
    {
        var n = data.Models;
        var prior = data.MleExists() ? 0 : PriorTies;
        var wins = new double[n];
        var played = new double[n, n];
        for (var a = 0; a < n; a++)
        {
            wins[a] = prior / 2;
            for (var b = 0; b < n; b++)
            {
                wins[a] += data.Wins[a, b];
                played[a, b] = data.Wins[a, b] + data.Wins[b, a];
            }
        }

        // Strengths p = 10^(rating/400); the virtual opponent has p = 1.
        var p = Enumerable.Repeat(1.0, n).ToArray();
        var next = new double[n];
        for (var iteration = 0; iteration < MaxIterations; iteration++)
        {
            var change = 0.0;
            for (var a = 0; a < n; a++)
            {
                var denominator = prior / (p[a] + 1);
                for (var b = 0; b < n; b++)
                {
                    if (played[a, b] > 0)
                    {
                        denominator += played[a, b] / (p[a] + p[b]);
                    }
                }
                next[a] = denominator > 0 && wins[a] > 0 ? wins[a] / denominator : p[a];
            }
            if (prior == 0)
            {
                // Without the anchor the scale is free: fix the geometric mean at 1.
                var logMean = next.Average(Math.Log);
                for (var a = 0; a < n; a++)
                {
                    next[a] /= Math.Exp(logMean);
                }
            }
            for (var a = 0; a < n; a++)
            {
                change = Math.Max(change, Math.Abs(Math.Log(next[a] / p[a])));
                p[a] = next[a];
            }
            if (change < Tolerance)
            {
                break;
            }
        }

        var ratings = p.Select(x => Scale * Math.Log10(x)).ToArray();
        var shift = ratings.Average();
        return [.. ratings.Select(r => r - shift + Mean)];
    }
}
