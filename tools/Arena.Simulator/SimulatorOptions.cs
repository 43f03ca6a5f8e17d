using System.CommandLine;
using Arena.Cli;

namespace Arena.Simulator;

public sealed record SimulatorOptions(Uri Ingest, int Games, int Parallel, TimeSpan TurnDelay, int Seed, string? ApiKey)
{
    /// <summary>The arena-sim command line; <paramref name="simulate"/> runs with the options it read and returns the exit code.</summary>
    public static Command Command(Func<SimulatorOptions, Task<int>> simulate)
    {
        var ingest = ToolCommand.HttpUrl("--ingest", "ingest base URL", new Uri("http://127.0.0.1:8081"));
        var games = ToolCommand.Int("--games", "games to play, 0 = until stopped", 0);
        var parallel = ToolCommand.Int("--parallel", "games played at once", 3, minimum: 1);
        var turnDelay = ToolCommand.Int("--turn-delay-ms", "pause between turns in milliseconds", 500);
        var seed = ToolCommand.Int("--seed", "random seed", 1, minimum: int.MinValue);
        var apiKey = new Option<string?>("--api-key") { HelpName = "KEY", Description = "API key, when ingest requires one (default: $ARENA_API_KEY)" };

        var root = ToolCommand.Root("arena-sim", "Plays simulated LLM matches against the ingest API.", typeof(SimulatorOptions).Assembly);
        root.Options.Add(ingest);
        root.Options.Add(games);
        root.Options.Add(parallel);
        root.Options.Add(turnDelay);
        root.Options.Add(seed);
        root.Options.Add(apiKey);
        root.SetAction(parse =>
        {
            var key = parse.GetValue(apiKey) ?? Environment.GetEnvironmentVariable("ARENA_API_KEY");
            return simulate(new SimulatorOptions(parse.GetValue(ingest)!, parse.GetValue(games), parse.GetValue(parallel),
                TimeSpan.FromMilliseconds(parse.GetValue(turnDelay)), parse.GetValue(seed), string.IsNullOrEmpty(key) ? null : key));
        });
        return root;
    }
}
