namespace Arena.Ranker.Rating;

/// <summary>
/// Weighted pairwise results between models: a game of n players contributes every ordered
/// pair of players, the better rank beating the worse, each pair weighted 1/(n−1); a tie
/// gives each side half. Two players of the same model in one game compare nothing.
/// </summary>
internal sealed class PairwiseWins
{
    public PairwiseWins(int models)
    {
        Models = models;
        Wins = new double[models, models];
    }

    public int Models { get; }

    /// <summary>Wins[a, b]: weighted wins of model a over model b.</summary>
    public double[,] Wins { get; }

    public void Add(int[] models, int[] ranks)
    {
        var n = models.Length;
        var weight = 1.0 / (n - 1);
        for (var i = 0; i < n; i++)
        {
            for (var j = i + 1; j < n; j++)
            {
                var (a, b) = (models[i], models[j]);
                if (a == b)
                {
                    continue;
                }
                if (ranks[i] < ranks[j])
                {
                    Wins[a, b] += weight;
                }
                else if (ranks[i] > ranks[j])
                {
                    Wins[b, a] += weight;
                }
                else
                {
                    Wins[a, b] += weight / 2;
                    Wins[b, a] += weight / 2;
                }
            }
        }
    }

    /// <summary>Each model's total weight of comparisons, won, lost or tied.</summary>
    public double[] Comparisons()
    {
        var comparisons = new double[Models];
        for (var a = 0; a < Models; a++)
        {
            for (var b = 0; b < Models; b++)
            {
                comparisons[a] += Wins[a, b] + Wins[b, a];
            }
        }
        return comparisons;
    }

    /// <summary>The results among the given models only, renumbered 0..n−1 in the given order.</summary>
    public PairwiseWins Among(int[] models)
    {
        var among = new PairwiseWins(models.Length);
        for (var i = 0; i < models.Length; i++)
        {
            for (var j = 0; j < models.Length; j++)
            {
                among.Wins[i, j] = Wins[models[i], models[j]];
            }
        }
        return among;
    }

    /// <summary>
    /// The maximum-likelihood estimate exists when every model has beaten, directly or
    /// through others, every model that has beaten it: the graph of wins is strongly connected.
    /// </summary>
    public bool MleExists()
    {
        if (Models <= 1)
        {
            return true;
        }
        return Reaches(forward: true) && Reaches(forward: false);
    }

    private bool Reaches(bool forward)
    {
        var seen = new bool[Models];
        var stack = new Stack<int>([0]);
        seen[0] = true;
        var count = 1;
        while (stack.TryPop(out var a))
        {
            for (var b = 0; b < Models; b++)
            {
                if (!seen[b] && (forward ? Wins[a, b] : Wins[b, a]) > 0)
                {
                    seen[b] = true;
                    count++;
                    stack.Push(b);
                }
            }
        }
        return count == Models;
    }
}
