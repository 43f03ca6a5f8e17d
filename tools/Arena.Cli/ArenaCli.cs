using System.CommandLine;
using System.Globalization;
using Arena.ServiceDefaults;
using StackExchange.Redis;

namespace Arena.Cli;

public static class ArenaCli
{
    public const int Ok = ToolCommand.Ok;
    public const int Failed = ToolCommand.Failed;
    public const int Usage = ToolCommand.Usage;

    public static Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr) =>
        RunAsync(args, stdout, stderr, SystemTerminal.Instance);

    /// <param name="terminal">Whether someone can answer a question and sees progress; the process's console by default.</param>
    public static Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr, ITerminal terminal) =>
        ToolCommand.InvokeAsync(Build(terminal), args, stdout, stderr);

    private static Command Build(ITerminal terminal)
    {
        var redis = new Option<string?>("--redis")
        {
            HelpName = "CONF",
            Description = "StackExchange.Redis configuration (default: $Arena__Redis or 127.0.0.1:6379)",
            Recursive = true,
        };
        var partitions = new Option<int?>("--partitions")
        {
            HelpName = "N",
            Description = "partition count (default: $Arena__Partitions or 1)",
            Recursive = true,
            CustomParser = result => PositivePartitions(result.Tokens.Single().Value) ?? Invalid(result),
        };
        var json = new Option<bool>("--json") { Description = "machine-readable output", Recursive = true };

        var root = ToolCommand.Root("arena",
            "The operator's view of the event log: streams, consumer groups, dead letters.\n" +
            "Exit codes: 0 done, 1 failed (Redis unreachable, entry not found), 2 usage error.",
            typeof(ArenaCli).Assembly);
        root.Options.Add(redis);
        root.Options.Add(partitions);
        root.Options.Add(json);

        // Every command's action: connect, then run it; Redis failures exit 1.
        void Run(Command command, Func<ParseResult, IDatabase, int, Output, Task<int>> run) =>
            command.SetAction(async (parse, _) =>
            {
                var stdout = parse.InvocationConfiguration.Output;
                var stderr = parse.InvocationConfiguration.Error;
                var output = new Output(stdout, stderr, parse.GetValue(json), parse.CommandResult, terminal);
                var count = parse.GetValue(partitions) ?? PositivePartitions(Environment.GetEnvironmentVariable("Arena__Partitions") ?? "1");
                if (count is not { } n)
                {
                    return await output.UsageAsync("Arena__Partitions must be a positive integer");
                }
                var configuration = parse.GetValue(redis) ?? Environment.GetEnvironmentVariable("Arena__Redis") ?? "127.0.0.1:6379";
                ConnectionMultiplexer connection;
                try
                {
                    var options = RedisConnection.Options(configuration, "arena-cli");
                    options.AbortOnConnectFail = true;
                    options.ConnectTimeout = 3000;
                    connection = await ConnectionMultiplexer.ConnectAsync(options);
                }
                catch (Exception e) when (e is RedisConnectionException or ArgumentException)
                {
                    return await output.FailAsync($"cannot connect to Redis ({e.Message.Split('\n')[0]})");
                }
                await using (connection)
                {
                    try
                    {
                        return await run(parse, connection.GetDatabase(), n, output);
                    }
                    catch (RedisException e)
                    {
                        return await output.FailAsync($"Redis failed: {e.Message}");
                    }
                }
            });

        Option<int?> Partition() => ToolCommand.OptionalInt("--partition", "one partition's DLQ only (default: every partition)");

        var status = new Command("status", "streams, groups, consumers, lag, pending, oldest pending age, DLQ depth, stale groups");
        Run(status, (_, db, n, output) => Commands.StatusAsync(db, n, output));

        var limit = ToolCommand.Int("--limit", "dead letters to list at most", 50, minimum: 1);
        var listPartition = Partition();
        var list = new Command("list", "dead letters of every partition (or --partition P's), oldest first") { limit, listPartition };
        Run(list, (parse, db, n, output) => Commands.DlqListAsync(db, DlqScope.Of(n, parse.GetValue(listPartition)), parse.GetValue(limit), output));

        var showId = new Argument<string>("id") { Description = "the dead letter's id" };
        var showPartition = Partition();
        var show = new Command("show", "one dead letter, every field") { showId, showPartition };
        Run(show, (parse, db, n, output) => Commands.DlqShowAsync(db, DlqScope.Of(n, parse.GetValue(showPartition)), parse.GetValue(showId)!, output));

        var replayIds = new Argument<string[]>("id") { Description = "dead letters to replay", Arity = ArgumentArity.ZeroOrMore };
        var all = new Option<bool>("--all") { Description = "every dead letter (that the filters let through)" };
        var group = new Option<string?>("--group") { HelpName = "G", Description = "only dead letters that group G failed" };
        var error = new Option<string?>("--error") { HelpName = "TEXT", Description = "only dead letters whose error contains TEXT (case-insensitive)" };
        var dryRun = new Option<bool>("--dry-run") { Description = "list what would be replayed; change nothing" };
        var replayPartition = Partition();
        var dlqReplay = new Command("replay",
            "put dead letters back on their stream for the group that failed them, and remove them from the DLQ")
        {
            replayIds, all, group, error, dryRun, replayPartition,
        };
        Run(dlqReplay, (parse, db, n, output) => Commands.DlqReplayAsync(db, DlqScope.Of(n, parse.GetValue(replayPartition)),
            new DlqReplay(parse.GetValue(replayIds) ?? [], parse.GetValue(all), parse.GetValue(group), parse.GetValue(error), parse.GetValue(dryRun)), output));

        var purgeYes = new Option<bool>("--yes") { Description = "confirm: the dead letters are deleted for good" };
        var purgePartition = Partition();
        var purge = new Command("purge", "delete every dead letter (of --partition P only)") { purgeYes, purgePartition };
        Run(purge, (parse, db, n, output) => Commands.DlqPurgeAsync(db, DlqScope.Of(n, parse.GetValue(purgePartition)), parse.GetValue(purgeYes), output));

        var dlq = new Command("dlq", "dead letters: list, show, replay, purge") { list, show, dlqReplay, purge };

        var rewindGroup = new Option<string?>("--group") { HelpName = "G", Description = "the consumer group to rewind" };
        var from = new Option<string?>("--from") { HelpName = "ID", Description = "the stream ID to handle again from (<ms>-<seq>)" };
        var rewindPartition = ToolCommand.Int("--partition", "the group's partition", 0);
        var yes = new Option<bool>("--yes") { Description = "do not ask for confirmation (needed without a terminal)" };
        var replay = new Command("replay", "make group G handle its partition again from stream ID ID on (asks for confirmation)")
        {
            rewindGroup, from, rewindPartition, yes,
        };
        Run(replay, (parse, db, n, output) => Commands.ReplayGroupAsync(db,
            new GroupRewind(parse.GetValue(rewindGroup), parse.GetValue(from), parse.GetValue(rewindPartition), parse.GetValue(yes)), n, output));

        root.Subcommands.Add(status);
        root.Subcommands.Add(dlq);
        root.Subcommands.Add(replay);
        return root;
    }

    private static int? PositivePartitions(string text) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n >= 1 ? n : null;

    private static int? Invalid(System.CommandLine.Parsing.ArgumentResult result)
    {
        result.AddError($"--partitions must be a positive integer (got '{result.Tokens.Single().Value}')");
        return null;
    }
}
