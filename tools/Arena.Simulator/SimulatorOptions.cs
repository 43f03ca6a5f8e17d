using System.Globalization;

namespace Arena.Simulator;

public sealed record SimulatorOptions(Uri Ingest, int Games, int Parallel, TimeSpan TurnDelay, int Seed, string? ApiKey)
{
    public const string Usage = """
        usage: arena-sim [--ingest URL] [--games N] [--parallel N] [--turn-delay-ms MS] [--seed N] [--api-key KEY]
          --ingest         ingest base URL (default http://127.0.0.1:8081)
          --games          games to play, 0 = until stopped (default 0)
          --parallel       games played at once (default 3)
          --turn-delay-ms  pause between turns (default 500)
          --seed           random seed (default 1)
          --api-key        API key, when ingest requires one (default: $ARENA_API_KEY)
        """;

    public static SimulatorOptions? Parse(string[] args)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < args.Length; i++)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal) || i + 1 >= args.Length)
            {
                Console.Error.WriteLine($"arena-sim: unexpected argument '{args[i]}'");
                return null;
            }
            values[args[i][2..]] = args[++i];
        }
        var known = new[] { "ingest", "games", "parallel", "turn-delay-ms", "seed", "api-key" };
        if (values.Keys.FirstOrDefault(k => !known.Contains(k)) is { } unknown)
        {
            Console.Error.WriteLine($"arena-sim: unknown option --{unknown}");
            return null;
        }

        if (!Uri.TryCreate(values.GetValueOrDefault("ingest", "http://127.0.0.1:8081"), UriKind.Absolute, out var ingest)
            || !TryInt(values, "games", 0, 0, out var games)
            || !TryInt(values, "parallel", 3, 1, out var parallel)
            || !TryInt(values, "turn-delay-ms", 500, 0, out var delay)
            || !TryInt(values, "seed", 1, int.MinValue, out var seed))
        {
            Console.Error.WriteLine("arena-sim: --ingest must be an absolute URL and the counts non-negative integers");
            return null;
        }
        var key = values.GetValueOrDefault("api-key") ?? Environment.GetEnvironmentVariable("ARENA_API_KEY");
        return new SimulatorOptions(ingest, games, parallel, TimeSpan.FromMilliseconds(delay), seed, string.IsNullOrEmpty(key) ? null : key);
    }

    private static bool TryInt(Dictionary<string, string> values, string name, int fallback, int minimum, out int value)
    {
        value = fallback;
        return !values.TryGetValue(name, out var text)
            || (int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value) && value >= minimum);
    }
}
