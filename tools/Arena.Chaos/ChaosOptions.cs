using System.CommandLine;
using System.Globalization;
using Arena.Cli;

namespace Arena.Chaos;

/// <summary>What one chaos run does. The defaults are the bar <c>make chaos</c> has to pass.</summary>
public sealed record ChaosOptions
{
    /// <summary>Seeds every random choice of the plan; the same seed replays the same plan.</summary>
    public int Seed { get; init; } = Random.Shared.Next(1, int.MaxValue);

    /// <summary>Accepted events to reach at least (the producers also keep going until every fault of the plan is done).</summary>
    public long Events { get; init; } = 200_000;

    /// <summary>kill -9 of the persister or the ranker (each chosen at random), each followed by a restart.</summary>
    public int ConsumerKills { get; init; } = 24;

    /// <summary>kill -9 of the SSE gateway, each followed by a restart (its clients reconnect).</summary>
    public int GatewayKills { get; init; } = 2;

    /// <summary>kill -9 of redis-server, restarted on the same port and folder (AOF replay).</summary>
    public int RedisRestarts { get; init; } = 3;

    /// <summary>SIGTERM of the persister or the ranker while events flow, then a restart.</summary>
    public int Sigterms { get; init; } = 4;

    /// <summary>Poison entries as a percentage of the target events: half raw unparseable XADDs, half game_ends the ranker cannot interpret.</summary>
    public double PoisonPercent { get; init; } = 1;

    /// <summary>SSE clients following the load runs, dropped at random and resumed with Last-Event-ID.</summary>
    public int SseClients { get; init; } = 8;

    /// <summary>Redis's AOF fsync policy: <c>always</c> (nothing accepted may be lost) or <c>everysec</c> (loss is measured).</summary>
    public string AppendFsync { get; init; } = "always";

    /// <summary>Events per second the producers send at, all together.</summary>
    public double Rate { get; init; } = 2000;

    /// <summary>Seconds of flat-out ingest per fsync mode before the chaos starts (0: skip the throughput probe).</summary>
    public int ThroughputSeconds { get; init; } = 5;

    /// <summary>
    /// A soak of this many minutes (0: none): the producers keep going for that long, whatever
    /// <see cref="Events"/> says, hostile clients run throughout, and every process's memory is
    /// sampled and must stay flat. A soak takes no faults: a restart would reset the memory it watches.
    /// </summary>
    public double Minutes { get; init; }

    /// <summary>Where results.md and results.json go.</summary>
    public string Out { get; init; } = "chaos-results";

    public bool LossIsMeasured => AppendFsync == "everysec";

    public bool Soak => Minutes > 0;

    /// <summary>The arena-chaos command line; <paramref name="run"/> runs with the options it read and returns the exit code.</summary>
    public static Command Command(Func<ChaosOptions, Task<int>> run)
    {
        var defaults = new ChaosOptions();
        var seed = ToolCommand.OptionalInt("--seed", "seed of every random choice (default: a random one, printed)");
        var events = ToolCommand.Int("--events", "accepted events to reach at least", (int)defaults.Events, minimum: 1000);
        var consumerKills = ToolCommand.Int("--consumer-kills", "kill -9 of the persister or ranker, each restarted", defaults.ConsumerKills);
        var gatewayKills = ToolCommand.Int("--gateway-kills", "kill -9 of the SSE gateway, each restarted", defaults.GatewayKills);
        var redisRestarts = ToolCommand.Int("--redis-restarts", "kill -9 of redis-server, restarted on its folder and port", defaults.RedisRestarts);
        var sigterms = ToolCommand.Int("--sigterms", "SIGTERM of the persister or ranker while events flow, then restarted", defaults.Sigterms);
        var poisonPercent = ToolCommand.Number("--poison-percent", "poison entries as % of the events", defaults.PoisonPercent, 0, 10);
        var sseClients = ToolCommand.Int("--sse-clients", "SSE clients, dropped at random and resumed", defaults.SseClients, maximum: 100);
        var appendFsync = new Option<string>("--appendfsync")
        {
            HelpName = "MODE",
            Description = "always (lost must be 0) or everysec (lost is measured)",
            DefaultValueFactory = _ => defaults.AppendFsync,
        };
        appendFsync.AcceptOnlyFromAmong("always", "everysec");
        var rate = ToolCommand.Number("--rate", "events per second sent, all producers together", defaults.Rate, 0, positive: true);
        var throughputSeconds = ToolCommand.Int("--throughput-seconds",
            "flat-out ingest per fsync mode and round (3 rounds) before the chaos; 0 skips it", defaults.ThroughputSeconds, maximum: 600);
        var minutes = ToolCommand.Number("--minutes",
            "soak for M minutes instead of --events: hostile clients throughout, memory sampled and checked flat; needs every fault count at 0 (0: no soak)",
            defaults.Minutes, 0, 24 * 60);
        var output = new Option<string>("--out") { HelpName = "DIR", Description = "results.md and results.json", DefaultValueFactory = _ => defaults.Out };

        var root = ToolCommand.Root("arena-chaos",
            "The pipeline as real processes under seeded faults, then the verdict table. The defaults are the bar make chaos has to pass.",
            typeof(ChaosOptions).Assembly);
        foreach (var option in new Option[] { seed, events, consumerKills, gatewayKills, redisRestarts, sigterms, poisonPercent, sseClients, appendFsync, rate, throughputSeconds, minutes, output })
        {
            root.Options.Add(option);
        }
        root.SetAction(async parse =>
        {
            var options = new ChaosOptions
            {
                Seed = parse.GetValue(seed) ?? defaults.Seed,
                Events = parse.GetValue(events),
                ConsumerKills = parse.GetValue(consumerKills),
                GatewayKills = parse.GetValue(gatewayKills),
                RedisRestarts = parse.GetValue(redisRestarts),
                Sigterms = parse.GetValue(sigterms),
                PoisonPercent = parse.GetValue(poisonPercent),
                SseClients = parse.GetValue(sseClients),
                AppendFsync = parse.GetValue(appendFsync)!,
                Rate = parse.GetValue(rate),
                ThroughputSeconds = parse.GetValue(throughputSeconds),
                Minutes = parse.GetValue(minutes),
                Out = parse.GetValue(output)!,
            };
            return options.Problem() is { } problem
                ? await ToolCommand.UsageAsync(parse.CommandResult, problem, parse.InvocationConfiguration.Error)
                : await run(options);
        });
        return root;
    }

    /// <summary>What the options' own ranges cannot say.</summary>
    private string? Problem() =>
        Soak && ConsumerKills + GatewayKills + RedisRestarts + Sigterms > 0 ? "a soak (--minutes) takes no faults: set every fault count to 0" : null;

    /// <summary>The arguments that replay this run's plan.</summary>
    public string ReplayArguments() => string.Create(CultureInfo.InvariantCulture,
        $"--seed {Seed} --events {Events} --consumer-kills {ConsumerKills} --gateway-kills {GatewayKills} --redis-restarts {RedisRestarts} --sigterms {Sigterms} --poison-percent {PoisonPercent} --sse-clients {SseClients} --appendfsync {AppendFsync} --rate {Rate} --minutes {Minutes}");
}
