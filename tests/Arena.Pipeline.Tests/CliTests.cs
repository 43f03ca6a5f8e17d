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

    private async Task<(int Exit, string Out, string Err)> ArenaAsync(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var exit = await ArenaCli.RunAsync([.. args, "--redis", Redis.Configuration], stdout, stderr);
        Output.WriteLine($"arena {string.Join(' ', args)} → {exit}\n{stdout}{stderr}");
        return (exit, stdout.ToString(), stderr.ToString());
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

        var replay = await ArenaAsync("replay", "--group", "g", "--from", first);

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
}
