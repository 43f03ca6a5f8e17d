using Arena.Ranker.Rating;

namespace Arena.Ranker.Tests;

/// <summary>Builders for finished games: each game gets its own run_id, and stream order follows creation.</summary>
internal static class Games
{
    private static int _next;

    public static Game G(params (string Model, int Rank)[] placements) =>
        new($"run-{Interlocked.Increment(ref _next):D6}", "end", (0, Interlocked.Increment(ref _next), 0), [.. placements.Select(p => new Placement(p.Model, p.Rank))]);

    public static Game Win(string winner, string loser) => G((winner, 1), (loser, 2));

    public static Game Tie(string a, string b) => G((a, 1), (b, 1));

    /// <summary><paramref name="games"/> games between two models, the first winning round(games · p) of them.</summary>
    public static List<Game> TwoModels(string a, string b, int games, double p)
    {
        var wins = (int)Math.Round(games * p);
        return [.. Enumerable.Range(0, games).Select(i => i < wins ? Win(a, b) : Win(b, a))];
    }

    /// <summary>
    /// 1v1 games between random pairs drawn from the Bradley–Terry model on the Elo scale with the
    /// given strengths; a share <paramref name="ties"/> of the games are ties whatever the strengths.
    /// </summary>
    public static List<Game> Simulated(Random random, IReadOnlyDictionary<string, double> strength, int games, double ties = 0)
    {
        var models = strength.Keys.ToArray();
        return [.. Enumerable.Range(0, games).Select(_ =>
        {
            var a = models[random.Next(models.Length)];
            var b = models.Where(m => m != a).ElementAt(random.Next(models.Length - 1));
            var p = 1 / (1 + Math.Pow(10, (strength[b] - strength[a]) / 400));
            var u = random.NextDouble();
            return u < ties ? Tie(a, b) : random.NextDouble() < p ? Win(a, b) : Win(b, a);
        })];
    }
}
