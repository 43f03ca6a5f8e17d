using System.Globalization;

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

    public const string Usage = """
        usage: arena-chaos [options]
          --seed N              seed of every random choice (default: a random one, printed)
          --events N            accepted events to reach at least (default 200000)
          --consumer-kills N    kill -9 of the persister or ranker, each restarted (default 24)
          --gateway-kills N     kill -9 of the SSE gateway, each restarted (default 2)
          --redis-restarts N    kill -9 of redis-server, restarted on its folder and port (default 3)
          --sigterms N          SIGTERM of the persister or ranker while events flow, then restarted (default 4)
          --poison-percent P    poison entries as % of the events (default 1)
          --sse-clients N       SSE clients, dropped at random and resumed (default 8)
          --appendfsync MODE    always (lost must be 0) or everysec (lost is measured) (default always)
          --rate N              events per second sent, all producers together (default 2000)
          --throughput-seconds S  flat-out ingest per fsync mode and round (3 rounds) before the chaos; 0 skips it (default 5)
          --minutes M           soak for M minutes instead of --events: hostile clients throughout, memory sampled and
                                checked flat; needs every fault count at 0 (default 0: no soak)
          --out DIR             results.md and results.json (default chaos-results)
        """;

    /// <summary>Parses <c>--name value</c> pairs; <paramref name="error"/> says what is wrong.</summary>
    public static bool TryParse(string[] args, out ChaosOptions options, out string? error)
    {
        options = new ChaosOptions();
        error = null;
        for (var i = 0; i < args.Length; i += 2)
        {
            var name = args[i];
            if (i + 1 >= args.Length)
            {
                error = $"{name} needs a value";
                return false;
            }
            var value = args[i + 1];
            options = name switch
            {
                "--seed" => options with { Seed = Int(value, name, ref error) },
                "--events" => options with { Events = Int(value, name, ref error) },
                "--consumer-kills" => options with { ConsumerKills = Int(value, name, ref error) },
                "--gateway-kills" => options with { GatewayKills = Int(value, name, ref error) },
                "--redis-restarts" => options with { RedisRestarts = Int(value, name, ref error) },
                "--sigterms" => options with { Sigterms = Int(value, name, ref error) },
                "--poison-percent" => options with { PoisonPercent = Number(value, name, ref error) },
                "--sse-clients" => options with { SseClients = Int(value, name, ref error) },
                "--appendfsync" => options with { AppendFsync = value },
                "--rate" => options with { Rate = Number(value, name, ref error) },
                "--throughput-seconds" => options with { ThroughputSeconds = Int(value, name, ref error) },
                "--minutes" => options with { Minutes = Number(value, name, ref error) },
                "--out" => options with { Out = value },
                _ => Unknown(options, name, ref error),
            };
            if (error is not null)
            {
                return false;
            }
        }
        error = options.Problem();
        return error is null;
    }

    private string? Problem() =>
        Events < 1000 ? "--events must be at least 1000"
        : ConsumerKills < 0 || GatewayKills < 0 || RedisRestarts < 0 || Sigterms < 0 ? "fault counts cannot be negative"
        : PoisonPercent is < 0 or > 10 ? "--poison-percent must be from 0 to 10"
        : SseClients is < 0 or > 100 ? "--sse-clients must be from 0 to 100"
        : AppendFsync is not ("always" or "everysec") ? "--appendfsync must be always or everysec"
        : !(Rate > 0) ? "--rate must be positive"
        : ThroughputSeconds is < 0 or > 600 ? "--throughput-seconds must be from 0 to 600"
        : Minutes is < 0 or > 24 * 60 ? "--minutes must be from 0 to 1440"
        : Soak && ConsumerKills + GatewayKills + RedisRestarts + Sigterms > 0 ? "a soak (--minutes) takes no faults: set every fault count to 0"
        : null;

    /// <summary>The arguments that replay this run's plan.</summary>
    public string ReplayArguments() => string.Create(CultureInfo.InvariantCulture,
        $"--seed {Seed} --events {Events} --consumer-kills {ConsumerKills} --gateway-kills {GatewayKills} --redis-restarts {RedisRestarts} --sigterms {Sigterms} --poison-percent {PoisonPercent} --sse-clients {SseClients} --appendfsync {AppendFsync} --rate {Rate} --minutes {Minutes}");

    private static int Int(string value, string name, ref string? error)
    {
        if (int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var parsed))
        {
            return parsed;
        }
        error = $"{name} needs a whole number (got '{value}')";
        return 0;
    }

    private static double Number(string value, string name, ref string? error)
    {
        if (double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed) && double.IsFinite(parsed))
        {
            return parsed;
        }
        error = $"{name} needs a number (got '{value}')";
        return 0;
    }

    private static ChaosOptions Unknown(ChaosOptions options, string name, ref string? error)
    {
        error = $"unknown option {name}";
        return options;
    }
}
