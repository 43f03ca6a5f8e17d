using System.Globalization;
using Arena.ServiceDefaults;
using StackExchange.Redis;

namespace Arena.Cli;

public static class ArenaCli
{
    public const int Ok = 0;
    public const int Failed = 1;
    public const int Usage = 2;

    public const string Help = """
        usage: arena <command> [options]

          status                          streams, groups, consumers, lag, pending, DLQ depth, stale groups
          dlq list [--limit N]            dead letters of every partition (or --partition P's), oldest first (default 50)
          dlq show <id>                   one dead letter, every field
          dlq replay (<id>... | --all)    put entries back on their stream for the group that failed them,
                                          and remove them from the DLQ
          dlq purge --yes                 delete every dead letter
                                          (dlq list/show/replay/purge: --partition P for one partition's DLQ only)
          replay --group G --from ID [--partition P]
                                          make group G handle its partition again from stream ID ID on

        options:
          --redis CONF        StackExchange.Redis configuration (default: $Arena__Redis or 127.0.0.1:6379)
          --partitions N      partition count (default: $Arena__Partitions or 1)
          --json              machine-readable output
        exit codes: 0 done, 1 failed (Redis unreachable, entry not found), 2 usage error
        """;

    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var parsed = Arguments.Parse(args);
        if (parsed.Error is not null || parsed.Words.Count == 0 || parsed.Flag("help"))
        {
            if (parsed.Error is not null)
            {
                await stderr.WriteLineAsync($"arena: {parsed.Error}");
            }
            await (parsed.Flag("help") ? stdout : stderr).WriteLineAsync(Help);
            return parsed.Flag("help") ? Ok : Usage;
        }

        var configuration = parsed.Option("redis") ?? Environment.GetEnvironmentVariable("Arena__Redis") ?? "127.0.0.1:6379";
        if (!int.TryParse(parsed.Option("partitions") ?? Environment.GetEnvironmentVariable("Arena__Partitions") ?? "1",
                NumberStyles.None, CultureInfo.InvariantCulture, out var partitions) || partitions < 1)
        {
            await stderr.WriteLineAsync("arena: --partitions must be a positive integer");
            return Usage;
        }

        ConnectionMultiplexer redis;
        try
        {
            var options = RedisConnection.Options(configuration, "arena-cli");
            options.AbortOnConnectFail = true;
            options.ConnectTimeout = 3000;
            redis = await ConnectionMultiplexer.ConnectAsync(options);
        }
        catch (Exception e) when (e is RedisConnectionException or ArgumentException)
        {
            await stderr.WriteLineAsync($"arena: cannot connect to Redis ({e.Message.Split('\n')[0]})");
            return Failed;
        }

        await using (redis)
        {
            var output = new Output(stdout, stderr, parsed.Flag("json"));
            var db = redis.GetDatabase();
            var dlqScope = DlqScope.Of(partitions, parsed.Option("partition") is null ? null : parsed.IntOption("partition", 0));
            try
            {
                return parsed.Words switch
                {
                    ["status"] => await Commands.StatusAsync(db, partitions, output),
                    ["dlq", "list"] => await Commands.DlqListAsync(db, dlqScope, parsed.IntOption("limit", 50), output),
                    ["dlq", "show", var id] => await Commands.DlqShowAsync(db, dlqScope, id, output),
                    ["dlq", "replay", .. var ids] => await Commands.DlqReplayAsync(db, dlqScope, [.. ids], parsed.Flag("all"), output),
                    ["dlq", "purge"] => await Commands.DlqPurgeAsync(db, dlqScope, parsed.Flag("yes"), output),
                    ["replay"] => await Commands.ReplayGroupAsync(db, parsed.Option("group"), parsed.Option("from"), parsed.IntOption("partition", 0), partitions, output),
                    _ => await output.UsageAsync($"unknown command '{string.Join(' ', parsed.Words)}'"),
                };
            }
            catch (RedisException e)
            {
                await stderr.WriteLineAsync($"arena: Redis failed: {e.Message}");
                return Failed;
            }
        }
    }
}

/// <summary>Words, <c>--name value</c> options and <c>--flag</c>s.</summary>
public sealed record Arguments(List<string> Words, Dictionary<string, string?> Options, string? Error)
{
    private static readonly HashSet<string> Flags = ["json", "all", "yes", "help"];
    private static readonly HashSet<string> Valued = ["redis", "partitions", "limit", "group", "from", "partition"];

    public static Arguments Parse(string[] args)
    {
        var words = new List<string>();
        var options = new Dictionary<string, string?>(StringComparer.Ordinal);
        for (var i = 0; i < args.Length; i++)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal))
            {
                words.Add(args[i]);
                continue;
            }
            var name = args[i][2..];
            if (Flags.Contains(name))
            {
                options[name] = null;
            }
            else if (Valued.Contains(name) && i + 1 < args.Length)
            {
                options[name] = args[++i];
            }
            else
            {
                return new Arguments(words, options, Valued.Contains(name) ? $"--{name} needs a value" : $"unknown option --{name}");
            }
        }
        return new Arguments(words, options, null);
    }

    public bool Flag(string name) => Options.ContainsKey(name);

    public string? Option(string name) => Options.GetValueOrDefault(name);

    public int IntOption(string name, int fallback) =>
        Option(name) is { } text ? (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v : -1) : fallback;
}
