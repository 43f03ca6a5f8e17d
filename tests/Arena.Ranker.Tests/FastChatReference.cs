namespace Arena.Ranker.Tests;

/// <summary>
/// The method public LLM arenas publish, FastChat's <c>elo_analysis.py</c> (<c>compute_mle_elo</c>
/// and <c>get_bootstrap_result</c>), written out independently as the yardstick for our intervals:
/// every battle is duplicated, a win counts twice for the winner and a tie once each way; a logistic
/// regression without intercept or penalty on the features +ln 10 for model a and −ln 10 for model b,
/// the outcome being "a wins"; ratings 400·β + 1000. Intervals: battles resampled with replacement,
/// each resample fitted alone (a model absent from it has no value there), the 2.5 and 97.5
/// percentiles with linear interpolation.
/// </summary>
internal static class FastChatReference
{
    public enum Winner { ModelA, ModelB, Tie }

    public sealed record Battle(string ModelA, string ModelB, Winner Winner);

    public static Dictionary<string, double> MleElo(IReadOnlyList<Battle> battles)
    {
        var models = battles.SelectMany(b => new[] { b.ModelA, b.ModelB }).Distinct().ToList();
        var index = models.Select((m, i) => (m, i)).ToDictionary(x => x.m, x => x.i);
        // Rows sharing a pair of features and an outcome collapse into one weighted row.
        var rows = new Dictionary<(int A, int B, bool AWins), double>();
        foreach (var battle in battles)
        {
            var (a, b) = (index[battle.ModelA], index[battle.ModelB]);
            foreach (var aWins in battle.Winner switch { Winner.ModelA => new[] { true, true }, Winner.ModelB => [false, false], _ => [true, false] })
            {
                rows[(a, b, aWins)] = rows.GetValueOrDefault((a, b, aWins)) + 1;
            }
        }

        var beta = LogisticRegression(rows, models.Count);
        return models.Select((m, i) => (m, i)).ToDictionary(x => x.m, x => 400 * beta[x.i] + 1000);
    }

    public static Dictionary<string, (double Low, double High)> BootstrapIntervals(IReadOnlyList<Battle> battles, int rounds, Random random)
    {
        var samples = Enumerable.Range(0, rounds)
            .Select(_ => MleElo([.. Enumerable.Range(0, battles.Count).Select(_ => battles[random.Next(battles.Count)])]))
            .ToList();
        return samples.SelectMany(s => s.Keys).Distinct().ToDictionary(m => m, m =>
        {
            var values = samples.Where(s => s.ContainsKey(m)).Select(s => s[m]).Order().ToArray();
            return (Quantile(values, 0.025), Quantile(values, 0.975));
        });
    }

    /// <summary>
    /// Newton's method from β = 0. The likelihood is flat along (1, …, 1); adding 1·1ᵀ to the Hessian
    /// keeps every step orthogonal to it, so β sums to zero as the L-BFGS iterates from zero do.
    /// </summary>
    private static double[] LogisticRegression(Dictionary<(int A, int B, bool AWins), double> rows, int k)
    {
        var ln10 = Math.Log(10);
        var beta = new double[k];
        for (var iteration = 0; iteration < 100; iteration++)
        {
            var gradient = new double[k];
            var hessian = new double[k, k];
            for (var i = 0; i < k; i++)
            {
                for (var j = 0; j < k; j++)
                {
                    hessian[i, j] = 1;
                }
            }
            foreach (var ((a, b, aWins), weight) in rows)
            {
                var p = 1 / (1 + Math.Exp(-ln10 * (beta[a] - beta[b])));
                var residual = weight * ((aWins ? 1 : 0) - p) * ln10;
                gradient[a] += residual;
                gradient[b] -= residual;
                var curvature = weight * p * (1 - p) * ln10 * ln10;
                hessian[a, a] += curvature;
                hessian[b, b] += curvature;
                hessian[a, b] -= curvature;
                hessian[b, a] -= curvature;
            }
            var step = Solve(hessian, gradient);
            for (var i = 0; i < k; i++)
            {
                beta[i] += step[i];
            }
            if (step.Max(Math.Abs) < 1e-13)
            {
                break;
            }
        }
        return beta;
    }

    /// <summary>Gaussian elimination with partial pivoting.</summary>
    private static double[] Solve(double[,] matrix, double[] vector)
    {
        var n = vector.Length;
        var m = (double[,])matrix.Clone();
        var x = (double[])vector.Clone();
        for (var col = 0; col < n; col++)
        {
            var pivot = Enumerable.Range(col, n - col).MaxBy(r => Math.Abs(m[r, col]));
            for (var c = 0; c < n; c++)
            {
                (m[col, c], m[pivot, c]) = (m[pivot, c], m[col, c]);
            }
            (x[col], x[pivot]) = (x[pivot], x[col]);
            for (var r = col + 1; r < n; r++)
            {
                var factor = m[r, col] / m[col, col];
                for (var c = col; c < n; c++)
                {
                    m[r, c] -= factor * m[col, c];
                }
                x[r] -= factor * x[col];
            }
        }
        for (var r = n - 1; r >= 0; r--)
        {
            for (var c = r + 1; c < n; c++)
            {
                x[r] -= m[r, c] * x[c];
            }
            x[r] /= m[r, r];
        }
        return x;
    }

    /// <summary>pandas' default quantile: linear interpolation between order statistics.</summary>
    private static double Quantile(double[] sorted, double q)
    {
        var position = q * (sorted.Length - 1);
        var low = (int)Math.Floor(position);
        var high = Math.Min(low + 1, sorted.Length - 1);
        return sorted[low] + (sorted[high] - sorted[low]) * (position - low);
    }
}
