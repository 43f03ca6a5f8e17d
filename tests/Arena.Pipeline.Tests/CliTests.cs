using System.Reflection;
using System.Text.Json;
using Arena.Cli;
using Arena.Contracts;
using Arena.Messaging;
using Arena.Pipeline.Tests.Infrastructure;
using StackExchange.Redis;

namespace Arena.Pipeline.Tests;

/// <summary>The operator CLI against real Redis and real consumer groups.</summary>
public sealed class CliTests(ITestOutputHelper output) : PipelineTest(output)
{
    private static readonly string Stream = StreamKeys.Events(0);

    /// <summary>The CLI as a script runs it: no terminal to ask on.</summary>
    private Task<(int Exit, string Out, string Err)> ArenaAsync(params string[] args) => ArenaAsync(new Terminal(false), args);

    private async Task<(int Exit, string Out, string Err)> ArenaAsync(Terminal terminal, params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var exit = await ArenaCli.RunAsync([.. args, "--redis", Redis.Configuration], stdout, stderr, terminal);
        Output.WriteLine($"arena {string.Join(' ', args)} → {exit}\n{stdout}{stderr}");
        return (exit, stdout.ToString(), stderr.ToString());
    }

    /// <summary>A terminal an operator sits at (answering in turn) or none (stdin redirected, as in CI).</summary>
    private sealed class Terminal(bool interactive, params string[] answers) : ITerminal
    {
        private readonly Queue<string> _answers = new(answers);

        public bool IsInteractive => interactive;

        public bool ShowsProgress { get; init; }

        public string? ReadLine() => _answers.TryDequeue(out var answer) ? answer : null;
    }

    [Fact]
    public async Task Dlq_replay_delivers_the_entry_again_to_the_failed_group_only_and_empties_it_from_the_dlq()
    {
        var fixedUp = false;
        await using var failing = TestConsumer.Start(Client, "g", "c",
            m => m["tag"] == "bad" && !Volatile.Read(ref fixedUp) ? MessageOutcome.DeadLetter("cannot interpret") : MessageOutcome.Ack);
        await using var other = TestConsumer.Start(Client, "other", "c");
        await Db.StreamAddAsync(Stream, [new("n", 1), new("tag", "good")]);
        var bad = (await Db.StreamAddAsync(Stream, [new("n", 2), new("tag", "bad")])).ToString();
        await Wait.UntilAsync(async () => await Db.StreamLengthAsync(StreamKeys.DeadLetters(0)) == 1, "the dead letter");
        await Wait.UntilAsync(() => other.Handled.Count == 2, "the other group");

        var list = await ArenaAsync("dlq", "list", "--json");
        Assert.Equal(ArenaCli.Ok, list.Exit);
        var dead = Assert.Single(JsonDocument.Parse(list.Out).RootElement.EnumerateArray().ToList());
        Assert.Equal(bad, dead.GetProperty("original_id").GetString());
        Assert.Equal("cannot interpret", dead.GetProperty("error").GetString());
        var deadId = dead.GetProperty("id").GetString()!;

        Volatile.Write(ref fixedUp, true);
        var replay = await ArenaAsync("dlq", "replay", deadId);

        Assert.Equal(ArenaCli.Ok, replay.Exit);
        Assert.Equal(0, await Db.StreamLengthAsync(StreamKeys.DeadLetters(0)));
        await Wait.UntilAsync(() => failing.Handled.Count == 2, "the replayed entry to be handled by the group that failed it");
        await Wait.UntilAsync(() => ConsumerGroups.CaughtUpAsync(Db, "other"), "the other group to pass over the replay");
        Assert.Equal(2, other.Handled.Count);

        var again = await ArenaAsync("dlq", "replay", deadId);
        Assert.Equal(ArenaCli.Failed, again.Exit);
        Assert.Contains(deadId, again.Err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Status_reports_streams_groups_consumers_and_dlq_depth()
    {
        await Db.StreamAddAsync(Stream, "n", 1);
        await Db.StreamAddAsync(Stream, "n", 2);
        await Db.StreamCreateConsumerGroupAsync(Stream, "g", "0");
        await Db.StreamReadGroupAsync(Stream, "g", "holder", ">", 1);
        await Db.StreamAddAsync(StreamKeys.DeadLetters(0), "x", 1);

        var json = await ArenaAsync("status", "--json");
        var table = await ArenaAsync("status");

        Assert.Equal(ArenaCli.Ok, json.Exit);
        var root = JsonDocument.Parse(json.Out).RootElement;
        var stream = root.GetProperty("streams")[0];
        Assert.Equal(2, stream.GetProperty("length").GetInt64());
        var group = stream.GetProperty("groups")[0];
        Assert.Equal("g", group.GetProperty("name").GetString());
        Assert.Equal(1, group.GetProperty("pending").GetInt64());
        Assert.Equal(1, group.GetProperty("lag").GetInt64());
        Assert.Equal("holder", group.GetProperty("consumers")[0].GetProperty("name").GetString());
        Assert.Equal(1, root.GetProperty("dlq_depth").GetInt64());
        Assert.Equal(ArenaCli.Ok, table.Exit);
        Assert.Contains("holder", table.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Status_names_a_group_that_is_behind_with_no_consumer_reading_as_stale()
    {
        await Db.StreamCreateConsumerGroupAsync(Stream, "left-over", "$", createStream: true);
        await Db.StreamCreateConsumerGroupAsync(Stream, "live", "$");
        await Db.StreamAddAsync(Stream, "n", 1);
        await Db.StreamReadGroupAsync(Stream, "live", "reader", ">", 10);

        var json = await ArenaAsync("status", "--json");
        var table = await ArenaAsync("status");

        var groups = JsonDocument.Parse(json.Out).RootElement.GetProperty("streams")[0].GetProperty("groups").EnumerateArray()
            .ToDictionary(g => g.GetProperty("name").GetString()!, g => (Stale: g.GetProperty("stale").GetBoolean(), Lag: g.GetProperty("lag").GetInt64()));
        Assert.Equal((true, 1L), groups["left-over"]);
        Assert.Equal((false, 0L), groups["live"]);
        Assert.Contains($"Stale group: 'left-over' on {Stream}", table.Out, StringComparison.Ordinal);
        Assert.Contains($"XGROUP DESTROY {Stream} left-over", table.Out, StringComparison.Ordinal);
        Assert.DoesNotContain("'live'", table.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Replay_makes_one_group_handle_history_again()
    {
        var first = (await Db.StreamAddAsync(Stream, "n", 1)).ToString();
        await Db.StreamAddAsync(Stream, "n", 2);
        await using var consumer = TestConsumer.Start(Client, "g", "c");
        await Wait.UntilAsync(() => consumer.Handled.Count == 2, "the first pass");

        var replay = await ArenaAsync("replay", "--group", "g", "--from", first, "--yes");

        Assert.Equal(ArenaCli.Ok, replay.Exit);
        await Wait.UntilAsync(() => consumer.Handled.Values.All(n => n == 2), "the second pass");
    }

    [Theory]
    [InlineData(new[] { "dlq", "purge" }, ArenaCli.Usage)]
    [InlineData(new[] { "dlq", "show", "nonsense" }, ArenaCli.Usage)]
    [InlineData(new[] { "dlq", "show", "1-1" }, ArenaCli.Failed)]
    [InlineData(new[] { "replay", "--group", "g" }, ArenaCli.Usage)]
    [InlineData(new[] { "replay", "--group", "missing", "--from", "1-0" }, ArenaCli.Failed)]
    [InlineData(new[] { "frobnicate" }, ArenaCli.Usage)]
    [InlineData(new[] { "status", "--bogus" }, ArenaCli.Usage)]
    public async Task Bad_commands_get_exit_codes_scripts_can_trust(string[] args, int expected)
    {
        var result = await ArenaAsync(args);

        Assert.Equal(expected, result.Exit);
        Assert.NotEmpty(result.Err);
    }

    [Fact]
    public async Task Purge_with_confirmation_empties_the_dlq()
    {
        await Db.StreamAddAsync(StreamKeys.DeadLetters(0), "x", 1);

        var purge = await ArenaAsync("dlq", "purge", "--yes");

        Assert.Equal(ArenaCli.Ok, purge.Exit);
        Assert.Equal(0, await Db.StreamLengthAsync(StreamKeys.DeadLetters(0)));
    }

    [Fact]
    public async Task Dead_letters_of_every_partition_are_listed_and_an_id_in_two_partitions_needs_one_named()
    {
        await Db.StreamAddAsync(StreamKeys.DeadLetters(0), "error", "first", messageId: "5-1");
        await Db.StreamAddAsync(StreamKeys.DeadLetters(1), "error", "second", messageId: "5-1");
        await Db.StreamAddAsync(StreamKeys.DeadLetters(1), "error", "third", messageId: "6-1");

        var list = await ArenaAsync("dlq", "list", "--partitions", "2", "--json");
        var listOne = await ArenaAsync("dlq", "list", "--partitions", "2", "--partition", "1", "--json");
        var listNone = await ArenaAsync("dlq", "list", "--partitions", "2", "--partition", "2");
        var ambiguous = await ArenaAsync("dlq", "show", "5-1", "--partitions", "2");
        var named = await ArenaAsync("dlq", "show", "5-1", "--partitions", "2", "--partition", "1", "--json");
        var unique = await ArenaAsync("dlq", "show", "6-1", "--partitions", "2", "--json");

        using (var doc = JsonDocument.Parse(list.Out))
        {
            Assert.Equal(["first", "second", "third"], doc.RootElement.EnumerateArray().Select(e => e.GetProperty("error").GetString()).Order());
        }
        using (var doc = JsonDocument.Parse(listOne.Out))
        {
            Assert.Equal(["second", "third"], doc.RootElement.EnumerateArray().Select(e => e.GetProperty("error").GetString()).Order());
        }
        Assert.Equal(ArenaCli.Usage, listNone.Exit);
        Assert.Contains("--partition must be from 0 to 1", listNone.Err, StringComparison.Ordinal);
        Assert.Equal(ArenaCli.Usage, ambiguous.Exit);
        Assert.Contains("partitions 0, 1", ambiguous.Err, StringComparison.Ordinal);
        Assert.Contains("\"second\"", named.Out, StringComparison.Ordinal);
        Assert.Contains("\"third\"", unique.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_dead_letter_of_another_partition_is_replayed_onto_its_own_stream_from_its_own_dlq()
    {
        var stream = StreamKeys.Events(1);
        await Db.StreamCreateConsumerGroupAsync(stream, "g", "0", createStream: true);
        await Db.StreamAddAsync(stream, "n", 1);
        var held = Assert.Single(await Db.StreamReadGroupAsync(stream, "g", "c", ">", 1));
        Assert.True(await DeadLetters.AddAsync(Db, "g", stream, held, 5, "boom", DateTimeOffset.UtcNow));
        var dead = Assert.Single(await Db.StreamRangeAsync(StreamKeys.DeadLetters(1)));

        var replay = await ArenaAsync("dlq", "replay", dead.Id.ToString(), "--partitions", "2");

        Assert.Equal(ArenaCli.Ok, replay.Exit);
        Assert.Equal(0, await Db.StreamLengthAsync(StreamKeys.DeadLetters(1)));
        Assert.Equal(0, await Db.StreamLengthAsync(StreamKeys.DeadLetters(0)));
        var replayed = (await Db.StreamRangeAsync(stream)).Last();
        Assert.Equal("g", replayed[DeadLetters.ReplayFor].ToString());
        Assert.Equal("1", replayed["n"].ToString());
    }

    [Fact]
    public async Task Unreachable_redis_fails_with_exit_code_1()
    {
        var stderr = new StringWriter();

        var exit = await ArenaCli.RunAsync(["status", "--redis", $"127.0.0.1:{FreePort.Next()}"], new StringWriter(), stderr);

        Assert.Equal(ArenaCli.Failed, exit);
        Assert.Contains("cannot connect", stderr.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Help_lists_the_commands_and_each_command_lists_its_options()
    {
        var root = await ArenaAsync("--help");
        var replay = await ArenaAsync("dlq", "replay", "--help");

        Assert.Equal(ArenaCli.Ok, root.Exit);
        Assert.All(["status", "dlq", "replay", "--redis", "--partitions", "--json", "--version"],
            word => Assert.Contains(word, root.Out, StringComparison.Ordinal));
        Assert.Equal(ArenaCli.Ok, replay.Exit);
        Assert.Contains("arena dlq replay", replay.Out, StringComparison.Ordinal);
        Assert.All(["--all", "--group", "--error", "--dry-run", "--partition"],
            option => Assert.Contains(option, replay.Out, StringComparison.Ordinal));
        Assert.Empty(root.Err + replay.Err);
    }

    [Fact]
    public async Task Version_prints_the_informational_version()
    {
        var stdout = new StringWriter();

        var exit = await ArenaCli.RunAsync(["--version"], stdout, new StringWriter());

        Assert.Equal(ArenaCli.Ok, exit);
        var version = typeof(ArenaCli).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()!.InformationalVersion;
        Assert.Equal(version, stdout.ToString().Trim());
    }

    [Theory]
    [InlineData(new[] { "frobnicate" }, "'frobnicate'")]
    [InlineData(new[] { "status", "--bogus" }, "'--bogus'")]
    [InlineData(new[] { "dlq", "list", "--limit", "none" }, "--limit must be a positive integer")]
    [InlineData(new[] { "dlq", "list", "--limit", "0" }, "--limit must be a positive integer")]
    [InlineData(new[] { "status", "--partitions", "-1" }, "--partitions must be a positive integer")]
    [InlineData(new[] { "dlq" }, "choose a command: list, show, replay, purge")]
    public async Task A_usage_error_is_one_line_naming_the_problem_and_a_pointer_to_help(string[] args, string problem)
    {
        var result = await ArenaAsync(args);

        Assert.Equal(ArenaCli.Usage, result.Exit);
        Assert.Empty(result.Out);
        var lines = result.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        Assert.StartsWith("arena: ", lines[0], StringComparison.Ordinal);
        Assert.Contains(problem, lines[0], StringComparison.Ordinal);
        Assert.Contains("--help", lines[1], StringComparison.Ordinal);
    }

    /// <summary>Three dead letters on partition 0: two the ranker failed (one it cannot interpret), one the persister failed.</summary>
    private async Task<(string RankerInterpret, string RankerTimeout, string PersisterInterpret)> ThreeDeadLettersAsync()
    {
        await Db.StreamCreateConsumerGroupAsync(Stream, "ranker", "0", createStream: true);
        await Db.StreamCreateConsumerGroupAsync(Stream, "persister", "0");
        for (var n = 1; n <= 3; n++)
        {
            await Db.StreamAddAsync(Stream, "n", n);
        }
        var ranker = await Db.StreamReadGroupAsync(Stream, "ranker", "c", ">", 2);
        var persister = await Db.StreamReadGroupAsync(Stream, "persister", "c", ">", 3);
        var failedAt = DateTimeOffset.UtcNow;
        Assert.True(await DeadLetters.AddAsync(Db, "ranker", Stream, ranker[0], 5, "Cannot INTERPRET schema_version 2", failedAt));
        Assert.True(await DeadLetters.AddAsync(Db, "ranker", Stream, ranker[1], 5, "timeout", failedAt));
        Assert.True(await DeadLetters.AddAsync(Db, "persister", Stream, persister[2], 5, "cannot interpret", failedAt));
        var ids = (await Db.StreamRangeAsync(StreamKeys.DeadLetters(0))).Select(e => e.Id.ToString()).ToArray();
        return (ids[0], ids[1], ids[2]);
    }

    [Fact]
    public async Task Dlq_replay_dry_run_lists_what_the_filters_choose_and_changes_nothing()
    {
        var (rankerInterpret, _, _) = await ThreeDeadLettersAsync();
        var dlqBefore = await Db.StreamRangeAsync(StreamKeys.DeadLetters(0));
        var streamBefore = await Db.StreamRangeAsync(Stream);

        var dryRun = await ArenaAsync("dlq", "replay", "--all", "--group", "ranker", "--error", "interpret", "--dry-run", "--json");
        var table = await ArenaAsync("dlq", "replay", "--all", "--dry-run");

        Assert.Equal(ArenaCli.Ok, dryRun.Exit);
        using (var doc = JsonDocument.Parse(dryRun.Out))
        {
            var chosen = Assert.Single(doc.RootElement.GetProperty("would_replay").EnumerateArray().ToList());
            Assert.Equal(rankerInterpret, chosen.GetProperty("id").GetString());
            Assert.Equal("ranker", chosen.GetProperty("group").GetString());
        }
        Assert.Equal(ArenaCli.Ok, table.Exit);
        Assert.Contains("3 would be replayed", table.Out, StringComparison.Ordinal);
        Assert.Equal(dlqBefore.Select(e => e.Id), (await Db.StreamRangeAsync(StreamKeys.DeadLetters(0))).Select(e => e.Id));
        Assert.Equal(streamBefore.Select(e => e.Id), (await Db.StreamRangeAsync(Stream)).Select(e => e.Id));
    }

    [Fact]
    public async Task Dlq_replay_all_with_filters_replays_only_the_dead_letters_of_that_group_with_that_error()
    {
        var (rankerInterpret, rankerTimeout, persisterInterpret) = await ThreeDeadLettersAsync();

        var replay = await ArenaAsync("dlq", "replay", "--all", "--group", "ranker", "--error", "interpret");

        Assert.Equal(ArenaCli.Ok, replay.Exit);
        Assert.Contains($"replayed {rankerInterpret} as", replay.Out, StringComparison.Ordinal);
        Assert.Equal([rankerTimeout, persisterInterpret], (await Db.StreamRangeAsync(StreamKeys.DeadLetters(0))).Select(e => e.Id.ToString()));
        var replayed = (await Db.StreamRangeAsync(Stream)).Last();
        Assert.Equal("ranker", replayed[DeadLetters.ReplayFor].ToString());
        Assert.Equal("1", replayed["n"].ToString());
    }

    [Fact]
    public async Task Dlq_replay_of_explicit_ids_reports_an_id_the_filters_leave_out_and_does_not_replay_it()
    {
        var (rankerInterpret, rankerTimeout, persisterInterpret) = await ThreeDeadLettersAsync();
        var streamLength = await Db.StreamLengthAsync(Stream);

        var replay = await ArenaAsync("dlq", "replay", rankerTimeout, persisterInterpret, "--group", "ranker", "--json");

        Assert.Equal(ArenaCli.Ok, replay.Exit);
        using (var doc = JsonDocument.Parse(replay.Out))
        {
            Assert.Equal(rankerTimeout, Assert.Single(doc.RootElement.GetProperty("replayed").EnumerateArray().ToList()).GetProperty("dlq_id").GetString());
            Assert.Equal([persisterInterpret], doc.RootElement.GetProperty("skipped").EnumerateArray().Select(e => e.GetString()));
        }
        Assert.Contains(persisterInterpret, replay.Err, StringComparison.Ordinal);
        Assert.Equal([rankerInterpret, persisterInterpret], (await Db.StreamRangeAsync(StreamKeys.DeadLetters(0))).Select(e => e.Id.ToString()));
        Assert.Equal(streamLength + 1, await Db.StreamLengthAsync(Stream));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Dlq_replay_draws_its_progress_bar_only_when_stderr_is_a_terminal(bool terminal)
    {
        await ThreeDeadLettersAsync();

        var replay = await ArenaAsync(new Terminal(false) { ShowsProgress = terminal }, "dlq", "replay", "--all");

        Assert.Equal(ArenaCli.Ok, replay.Exit);
        Assert.Equal(terminal, replay.Err.Contains("] 3/3", StringComparison.Ordinal));
        Assert.Contains("3 replayed", replay.Out, StringComparison.Ordinal);
    }

    /// <summary>Group g has been delivered both entries of the stream; returns the first entry's id and the group's last delivered id.</summary>
    private async Task<(string First, string LastDelivered)> GroupThroughTwoEntriesAsync()
    {
        var first = (await Db.StreamAddAsync(Stream, "n", 1)).ToString();
        await Db.StreamAddAsync(Stream, "n", 2);
        await Db.StreamCreateConsumerGroupAsync(Stream, "g", "0");
        Assert.Equal(2, (await Db.StreamReadGroupAsync(Stream, "g", "c", ">", 10)).Length);
        return (first, await LastDeliveredAsync());
    }

    private async Task<string> LastDeliveredAsync() => (await Db.StreamGroupInfoAsync(Stream)).Single(g => g.Name == "g").LastDeliveredId!;

    [Fact]
    public async Task Replay_without_a_terminal_or_yes_refuses_and_a_no_answer_changes_nothing()
    {
        var (first, lastDelivered) = await GroupThroughTwoEntriesAsync();

        var refused = await ArenaAsync("replay", "--group", "g", "--from", first);
        var declined = await ArenaAsync(new Terminal(true, "n"), "replay", "--group", "g", "--from", first);

        Assert.Equal(ArenaCli.Usage, refused.Exit);
        Assert.Contains("--yes", refused.Err, StringComparison.Ordinal);
        Assert.Equal(ArenaCli.Failed, declined.Exit);
        Assert.Contains($"Rewind group g on partition 0 from {first}? This re-delivers 2 entries. [y/N]", declined.Err, StringComparison.Ordinal);
        Assert.Equal(lastDelivered, await LastDeliveredAsync());
    }

    [Fact]
    public async Task Replay_rewinds_the_group_after_a_yes_answer_or_with_yes()
    {
        var (first, _) = await GroupThroughTwoEntriesAsync();
        var beforeFirst = StreamId.Parse(first).Previous().ToString();

        var answered = await ArenaAsync(new Terminal(true, "y"), "replay", "--group", "g", "--from", first);
        Assert.Equal(ArenaCli.Ok, answered.Exit);
        Assert.Equal(beforeFirst, await LastDeliveredAsync());

        Assert.Equal(2, (await Db.StreamReadGroupAsync(Stream, "g", "c", ">", 10)).Length);
        var confirmed = await ArenaAsync("replay", "--group", "g", "--from", first, "--yes");
        Assert.Equal(ArenaCli.Ok, confirmed.Exit);
        Assert.Equal(beforeFirst, await LastDeliveredAsync());
    }

    [Theory]
    [InlineData("tools/Arena.Bench", "arena-bench")]
    [InlineData("tools/Arena.Chaos", "arena-chaos")]
    [InlineData("tools/Arena.Load", "arena-load")]
    [InlineData("tools/Arena.Simulator", "arena-sim")]
    public async Task Every_tool_answers_help_and_refuses_an_unknown_option_with_exit_code_2(string project, string assembly)
    {
        var binary = Repo.Binary(project, assembly);

        var help = await Command.RunAsync("dotnet", [binary, "--help"], timeout: TimeSpan.FromMinutes(1));
        var bad = await Command.RunAsync("dotnet", [binary, "--frobnicate"], timeout: TimeSpan.FromMinutes(1));
        Output.WriteLine($"{help.Output}\n{bad.Output}");

        Assert.Equal(0, help.Exit);
        Assert.Contains($"Usage:\n  {assembly} ", help.Output, StringComparison.Ordinal);
        Assert.Contains("--version", help.Output, StringComparison.Ordinal);
        Assert.Equal(2, bad.Exit);
        Assert.Contains($"{assembly}: Unrecognized command or argument '--frobnicate'", bad.Output, StringComparison.Ordinal);
        Assert.Contains($"Run '{assembly} --help'", bad.Output, StringComparison.Ordinal);
    }
}
