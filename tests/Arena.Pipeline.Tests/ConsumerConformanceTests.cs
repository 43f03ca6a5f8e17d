using System.Diagnostics;
using Arena.Contracts;
using Arena.Messaging;
using Arena.Pipeline.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Arena.Pipeline.Tests;

/// <summary>
/// The consumer runtime against real Redis: one test per guarantee of docs/architecture.md (3–6), each
/// failing if its guarantee breaks.
/// </summary>
public sealed class ConsumerConformanceTests(ITestOutputHelper output) : PipelineTest(output)
{
    private static readonly string Stream = StreamKeys.Events(0);

    private async Task<List<string>> AddAsync(int count, string tag = "ok")
    {
        var ids = new List<string>(count);
        for (var i = 0; i < count; i++)
        {
            ids.Add((await Db.StreamAddAsync(Stream, [new("n", i), new("tag", tag)])).ToString());
        }
        return ids;
    }

    private Task<bool> DrainedAsync(string group) => ConsumerGroups.CaughtUpAsync(Db, group);

    /// <summary>Adds <paramref name="count"/> entries in one transaction, so that no read sees only some of them.</summary>
    private async Task AddAtOnceAsync(int count)
    {
        var transaction = Db.CreateTransaction();
        var adds = Enumerable.Range(0, count).Select(i => transaction.StreamAddAsync(Stream, [new("n", i), new("tag", "ok")])).ToList();
        Assert.True(await transaction.ExecuteAsync());
        await Task.WhenAll(adds);
    }

    [Fact]
    public async Task Batches_grow_while_reads_come_back_full_and_start_again_from_the_batch_size_once_caught_up()
    {
        await AddAtOnceAsync(1000);
        await using var consumer = TestConsumer.Start(Client, "g", "c1", configure: o => o.MaxBatchSize = 400);
        await Wait.UntilAsync(() => DrainedAsync("g"), "the backlog to drain");
        // Full reads double the next one up to the maximum; the last read brings the rest.
        Assert.Equal([100, 200, 400, 300], consumer.Batches);

        await AddAtOnceAsync(150);
        await Wait.UntilAsync(async () => await DrainedAsync("g") && consumer.Handled.Count == 1150, "the new entries");
        Assert.Equal([100, 200, 400, 300, 100, 50], consumer.Batches);
        Assert.All(consumer.Handled.Values, n => Assert.Equal(1, n));
    }

    [Fact]
    public async Task A_lingering_consumer_reads_the_first_entry_at_once_and_gathers_a_steady_flow_into_one_batch()
    {
        var linger = TimeSpan.FromSeconds(3);
        await using var consumer = TestConsumer.Start(Client, "g", "c1", configure: o => (o.Linger, o.IdlePoll) = (linger, TimeSpan.FromMilliseconds(5)));
        var clock = Stopwatch.StartNew();
        await AddAsync(1);
        await Wait.UntilAsync(() => Task.FromResult(consumer.Handled.Count == 1), "the first entry");
        Assert.True(clock.Elapsed < linger, $"the first entry waited {clock.ElapsedMilliseconds} ms");

        // Ten more, 20 ms apart: a reader polling every 5 ms takes them one by one unless it lingers.
        for (var i = 0; i < 10; i++)
        {
            await AddAsync(1);
            await Task.Delay(20);
        }
        await Wait.UntilAsync(() => Task.FromResult(consumer.Handled.Count == 11), "the flow");
        Assert.Equal([1, 10], consumer.Batches);
    }

    [Fact]
    public async Task A_lingering_consumer_of_several_partitions_lingers_once_per_round_not_once_per_partition()
    {
        var linger = TimeSpan.FromSeconds(3);
        await Db.StreamAddAsync(StreamKeys.Events(0), [new("n", 0), new("tag", "ok")]);
        await Db.StreamAddAsync(StreamKeys.Events(1), [new("n", 1), new("tag", "ok")]);
        var clock = Stopwatch.StartNew();
        await using var consumer = TestConsumer.Start(Client, "g", "c1", configure: o => (o.Linger, o.IdlePoll) = (linger, TimeSpan.FromMilliseconds(5)),
            partitions: 2);
        // One round reads both partitions; a linger after the first partition's read would hold back the second's.
        await Wait.UntilAsync(() => Task.FromResult(consumer.Handled.Count == 2), "an entry from each partition");
        Assert.True(clock.Elapsed < linger, $"the second partition's entry waited {clock.ElapsedMilliseconds} ms");
    }

    [Fact]
    public async Task A_restart_grows_its_batches_through_the_entries_it_held_as_through_a_backlog()
    {
        await AddAtOnceAsync(1000);
        await Db.StreamCreateConsumerGroupAsync(Stream, "g", "0");
        // The consumer read everything and died before acknowledging any of it.
        Assert.Equal(1000, (await Db.StreamReadGroupAsync(Stream, "g", "c1", ">", 1000)).Length);

        await using var restarted = TestConsumer.Start(Client, "g", "c1", configure: o => o.MaxBatchSize = 400);
        await Wait.UntilAsync(() => DrainedAsync("g"), "the held entries to be handled");
        Assert.Equal([100, 200, 400, 300], restarted.Batches);
        Assert.All(restarted.Handled.Values, n => Assert.Equal(1, n));
        Assert.All(restarted.Deliveries, d => Assert.Equal(2, d.Deliveries));
    }

    [Fact]
    public async Task Entries_held_by_a_dead_consumer_are_claimed_and_handled_once()
    {
        var ids = await AddAsync(150);
        await Db.StreamCreateConsumerGroupAsync(Stream, "g", "0");
        // A consumer reads 100 entries and dies without acknowledging them.
        var held = await Db.StreamReadGroupAsync(Stream, "g", "dead-one", ">", 100);
        Assert.Equal(100, held.Length);

        await using var survivor = TestConsumer.Start(Client, "g", "survivor");
        await Wait.UntilAsync(() => DrainedAsync("g"), "the group to drain");

        Assert.Equal(ids.Order(), survivor.Handled.Keys.Order());
        Assert.All(survivor.Handled.Values, n => Assert.Equal(1, n));
        // Claimed entries report Redis's delivery count: the dead consumer's delivery plus this one.
        Assert.All(survivor.Deliveries.Where(d => held.Any(h => h.Id == d.Id)), d => Assert.Equal(2, d.Deliveries));
    }

    [Fact]
    public async Task Claimed_entries_report_their_delivery_counts_while_the_claimer_holds_entries_between_them()
    {
        var ids = await AddAsync(20);
        await Db.StreamCreateConsumerGroupAsync(Stream, "g", "0");
        Assert.Equal(20, (await Db.StreamReadGroupAsync(Stream, "g", "dead-one", ">", 20)).Length);
        var mine = ids.Where((_, i) => i % 2 == 0).ToArray();
        var left = ids.Where((_, i) => i % 2 == 1).ToArray();
        // Every other entry moves to the claimer, not idle; the rest stay with the dead consumer, long idle.
        // JUSTID leaves the delivery counts at 1.
        object[] toClaimer = [Stream, "g", "survivor", 0, .. mine, "IDLE", 0, "JUSTID"];
        object[] toDeadOne = [Stream, "g", "dead-one", 0, .. left, "IDLE", 60_000, "JUSTID"];
        await Db.ExecuteAsync("XCLAIM", toClaimer);
        await Db.ExecuteAsync("XCLAIM", toDeadOne);

        // The claimer keeps failing its own entries, so they stay pending between the ones it claims.
        await using var survivor = TestConsumer.Start(Client, "g", "survivor",
            m => mine.Contains(m.Entry.Id.ToString()) ? MessageOutcome.Retry("not yet") : MessageOutcome.Ack,
            o => o.ClaimMinIdle = TimeSpan.FromSeconds(30));
        await Wait.UntilAsync(() => left.All(survivor.Handled.ContainsKey), "the claimed entries to be handled");

        Assert.All(survivor.Deliveries.Where(d => left.Contains(d.Id)), d => Assert.Equal(2, d.Deliveries));
        Assert.All(survivor.Deliveries.Where(d => mine.Contains(d.Id)).Take(mine.Length), d => Assert.Equal(2, d.Deliveries));
    }

    [Fact]
    public async Task Entry_that_always_fails_is_dead_lettered_after_exactly_max_deliveries_and_the_group_moves_on()
    {
        await AddAsync(10);
        var poison = (await Db.StreamAddAsync(Stream, [new("n", 10), new("tag", "poison")])).ToString();
        await AddAsync(10);

        await using var consumer = TestConsumer.Start(Client, "g", "c1",
            m => m["tag"] == "poison" ? throw new InvalidOperationException("the model exploded") : MessageOutcome.Ack,
            o => o.MaxDeliveries = 3);
        await Wait.UntilAsync(() => DrainedAsync("g"), "the group to drain");
        await Wait.UntilAsync(async () => await Db.StreamLengthAsync(StreamKeys.DeadLetters(0)) == 1, "the dead letter");

        Assert.Equal(20, consumer.Handled.Count);
        Assert.All(consumer.Handled.Values, n => Assert.Equal(1, n));
        Assert.Equal([1L, 2L, 3L], consumer.Deliveries.Where(d => d.Id == poison).Select(d => d.Deliveries).Distinct());
        var dead = Assert.Single(await Db.StreamRangeAsync(StreamKeys.DeadLetters(0)));
        Assert.Equal(poison, dead[DeadLetters.OriginalId].ToString());
        Assert.Equal(Stream, dead[DeadLetters.OriginalStream].ToString());
        Assert.Equal("g", dead[DeadLetters.Group].ToString());
        Assert.Equal(3, (int)dead[DeadLetters.Deliveries]);
        Assert.Contains("the model exploded", dead[DeadLetters.Error].ToString(), StringComparison.Ordinal);
        Assert.Equal("poison", dead["tag"].ToString());
    }

    [Fact]
    public async Task Entry_the_handler_rejects_as_permanent_is_dead_lettered_at_once()
    {
        await AddAsync(5);
        await AddAsync(1, "unparseable");

        await using var consumer = TestConsumer.Start(Client, "g", "c1",
            m => m["tag"] == "unparseable" ? MessageOutcome.DeadLetter("cannot parse") : MessageOutcome.Ack);
        await Wait.UntilAsync(() => DrainedAsync("g"), "the group to drain");

        var dead = Assert.Single(await Db.StreamRangeAsync(StreamKeys.DeadLetters(0)));
        Assert.Equal(1, (int)dead[DeadLetters.Deliveries]);
        Assert.Equal("cannot parse", dead[DeadLetters.Error].ToString());
    }

    [Fact]
    public async Task Entry_dead_lettered_again_by_a_retried_batch_is_in_the_dlq_once()
    {
        var id = (await AddAsync(1, "unparseable"))[0];
        await Db.StreamCreateConsumerGroupAsync(Stream, "g", "0");
        var entry = Assert.Single(await Db.StreamReadGroupAsync(Stream, "g", "c1", ">", 10));

        // The first call went through but its batch failed afterwards (Redis restarting), so the batch is handled again.
        Assert.True(await DeadLetters.AddAsync(Db, "g", Stream, entry, 1, "cannot parse", DateTimeOffset.UtcNow));
        Assert.False(await DeadLetters.AddAsync(Db, "g", Stream, entry, 1, "cannot parse", DateTimeOffset.UtcNow));

        var dead = Assert.Single(await Db.StreamRangeAsync(StreamKeys.DeadLetters(0)));
        Assert.Equal(id, dead[DeadLetters.OriginalId].ToString());
        Assert.Equal(0, await PipelineState.PendingAsync(Db, "g"));
    }

    [Fact]
    public async Task Entry_deleted_while_pending_is_acknowledged_not_retried_forever()
    {
        var ids = await AddAsync(5);
        await Db.StreamCreateConsumerGroupAsync(Stream, "g", "0");
        await Db.StreamReadGroupAsync(Stream, "g", "dead-one", ">", 5);
        await Db.StreamDeleteAsync(Stream, [ids[2]]);

        await using var survivor = TestConsumer.Start(Client, "g", "survivor");
        await Wait.UntilAsync(() => DrainedAsync("g"), "the group to drain");

        Assert.Equal(4, survivor.Handled.Count);
        Assert.DoesNotContain(ids[2], survivor.Handled.Keys);
        Assert.Equal(0, await PipelineState.PendingAsync(Db, "g"));
    }

    [Fact]
    public async Task Consumption_resumes_after_the_stream_is_deleted_and_recreated()
    {
        await AddAsync(5);
        await using var consumer = TestConsumer.Start(Client, "g", "c1");
        await Wait.UntilAsync(() => consumer.Handled.Count == 5, "the first entries");

        await Db.KeyDeleteAsync(Stream);
        var later = await AddAsync(5);

        await Wait.UntilAsync(() => later.All(consumer.Handled.ContainsKey), "entries of the recreated stream");
        Assert.Equal(10, consumer.Handled.Count);
    }

    [Fact]
    public async Task Nothing_is_lost_when_redis_restarts_mid_run()
    {
        if (Redis.Mode != "local redis-server")
        {
            return; // a container comes back on another port
        }
        await using var consumer = TestConsumer.Start(Client, "g", "c1");
        var added = await AddAsync(200);
        await Wait.UntilAsync(() => consumer.Handled.Count > 0, "some progress");

        await Redis.KillAsync();
        await Redis.RestartAsync();
        await Wait.UntilAsync(() => Client.IsConnected, "the client to reconnect");
        added.AddRange(await AddAsync(200));

        await Wait.UntilAsync(() => DrainedAsync("g"), "the group to drain");
        Assert.Equal(added.Order(), consumer.Handled.Keys.Order());
        await Wait.UntilAsync(async () => (await consumer.Health.CheckHealthAsync(new())).Status == Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Healthy,
            "readiness to recover");
    }

    [Fact]
    public async Task Two_consumers_in_one_group_share_the_work_each_entry_once()
    {
        // Both live: neither may take over the other's entries in hand, as a member would one idle past the claim threshold (which a
        // loaded machine reached with the tests' 500 ms, and an entry then counts twice, as at-least-once allows).
        static void Live(ConsumerOptions o) => (o.BatchSize, o.ClaimMinIdle) = (10, TimeSpan.FromMinutes(5));
        await using var a = TestConsumer.Start(Client, "g", "a", configure: Live);
        await using var b = TestConsumer.Start(Client, "g", "b", configure: Live);
        var ids = new List<string>();
        for (var round = 0; round < 20; round++)
        {
            ids.AddRange(await AddAsync(50));
        }

        await Wait.UntilAsync(() => DrainedAsync("g"), "the group to drain");

        Assert.NotEmpty(a.Handled);
        Assert.NotEmpty(b.Handled);
        Assert.Empty(a.Handled.Keys.Intersect(b.Handled.Keys));
        Assert.Equal(ids.Order(), a.Handled.Keys.Concat(b.Handled.Keys).Order());
    }

    [Fact]
    public async Task Two_groups_each_see_every_entry()
    {
        var ids = await AddAsync(300);
        await using var first = TestConsumer.Start(Client, "g1", "c");
        await using var second = TestConsumer.Start(Client, "g2", "c");

        await Wait.UntilAsync(async () => await DrainedAsync("g1") && await DrainedAsync("g2"), "both groups to drain");

        Assert.Equal(ids.Order(), first.Handled.Keys.Order());
        Assert.Equal(ids.Order(), second.Handled.Keys.Order());
    }

    [Fact]
    public async Task Transient_failures_pause_and_retry_without_counting_as_deliveries()
    {
        var ids = await AddAsync(3);
        var failures = 0;
        await using var consumer = TestConsumer.Start(Client, "g", "c1",
            _ => Interlocked.Increment(ref failures) <= 4 ? throw new IOException("disk unplugged") : MessageOutcome.Ack,
            o => o.MaxDeliveries = 2);

        await Wait.UntilAsync(() => DrainedAsync("g"), "the group to drain");

        Assert.Equal(ids.Order(), consumer.Handled.Keys.Order());
        Assert.All(consumer.Deliveries, d => Assert.Equal(1, d.Deliveries));
        Assert.Equal(0, await Db.StreamLengthAsync(StreamKeys.DeadLetters(0)));
    }

    [Fact]
    public async Task Idle_consumer_with_nothing_pending_is_removed_from_the_group()
    {
        await AddAsync(1);
        await Db.StreamCreateConsumerGroupAsync(Stream, "g", "$");
        await Db.StreamReadGroupAsync(Stream, "g", "gone", ">", 1);

        await using var consumer = TestConsumer.Start(Client, "g", "c1", configure: o => o.DeadConsumerIdle = TimeSpan.FromSeconds(1));

        await Wait.UntilAsync(async () => (await Db.StreamConsumerInfoAsync(Stream, "g")).All(c => c.Name != "gone"), "the idle consumer to be removed");
    }

    [Fact]
    public async Task Trimming_never_removes_an_entry_the_persister_has_not_committed()
    {
        var ids = await AddAsync(1000);
        await Db.StreamCreateConsumerGroupAsync(Stream, StreamKeys.PersisterGroup, "0");
        var delivered = await Db.StreamReadGroupAsync(Stream, StreamKeys.PersisterGroup, "p", ">", 600);
        // 400 committed and acknowledged; 200 delivered but pending; 400 never delivered.
        await Db.StreamAcknowledgeAsync(Stream, StreamKeys.PersisterGroup, [.. delivered.Take(400).Select(e => e.Id)]);

        var trimmed = await Trimmer(retainCount: 0).TrimAsync(Db, 0);

        var remaining = (await Db.StreamRangeAsync(Stream)).Select(e => e.Id.ToString()).ToList();
        Assert.True(trimmed > 0, "nothing was trimmed");
        Assert.Equal(ids.Skip(400), remaining.Skip(remaining.Count - 600));
        Assert.Equal(ids.Count - trimmed, remaining.Count);
    }

    [Theory]
    [InlineData("ranker", 200)]
    [InlineData("analytics", 300)] // a consumer added later, named nowhere
    public async Task Trimming_also_waits_for_a_lagging_group(string group, int handled)
    {
        await TrimBehindALaggingGroupAsync(group, handled);
    }

    [Fact]
    public async Task Named_bounding_groups_leave_other_groups_out()
    {
        await TrimBehindALaggingGroupAsync("analytics", 300);

        await Trimmer(retainCount: 0, boundGroups: "persister,ranker").TrimAsync(Db, 0);
        Assert.True(await Db.StreamLengthAsync(Stream) < 700, "the named groups did not leave the other one out");
    }

    /// <summary>The persister has committed 1,000 entries, <paramref name="group"/> the first <paramref name="handled"/>: a trim by the default bounding groups keeps the rest.</summary>
    private async Task TrimBehindALaggingGroupAsync(string group, int handled)
    {
        var ids = await AddAsync(1000);
        await Db.StreamCreateConsumerGroupAsync(Stream, StreamKeys.PersisterGroup, "0");
        await Db.StreamReadGroupAsync(Stream, StreamKeys.PersisterGroup, "p", ">", 1000);
        await Db.StreamAcknowledgeAsync(Stream, StreamKeys.PersisterGroup, [.. ids.Select(i => (RedisValue)i)]);
        await Db.StreamCreateConsumerGroupAsync(Stream, group, "0");
        var read = await Db.StreamReadGroupAsync(Stream, group, "c", ">", handled);
        await Db.StreamAcknowledgeAsync(Stream, group, [.. read.Select(e => e.Id)]);

        await Trimmer(retainCount: 0).TrimAsync(Db, 0);

        var remaining = (await Db.StreamRangeAsync(Stream)).Select(e => e.Id.ToString()).ToList();
        Assert.Equal(ids.Skip(handled), remaining.Skip(remaining.Count - (1000 - handled)));
        Assert.True(remaining.Count < 1000, "nothing was trimmed");
    }

    [Fact]
    public async Task Trimming_keeps_the_retention_window()
    {
        var ids = await AddAsync(1000);
        await Db.StreamCreateConsumerGroupAsync(Stream, StreamKeys.PersisterGroup, "0");
        await Db.StreamReadGroupAsync(Stream, StreamKeys.PersisterGroup, "p", ">", 1000);
        await Db.StreamAcknowledgeAsync(Stream, StreamKeys.PersisterGroup, [.. ids.Select(i => (RedisValue)i)]);

        await Trimmer(retainCount: 300).TrimAsync(Db, 0);
        var keptByCount = await Db.StreamLengthAsync(Stream);
        var keptByTime = await Trimmer(retainCount: 0, retainFor: TimeSpan.FromHours(1)).TrimAsync(Db, 0);

        Assert.InRange(keptByCount, 300, 400);
        Assert.Equal(0, keptByTime);
    }

    [Fact]
    public async Task Trimming_keeps_at_most_RetainAtMost_entries_however_young()
    {
        var ids = await AddAsync(1000);
        await Db.StreamCreateConsumerGroupAsync(Stream, StreamKeys.PersisterGroup, "0");
        await Db.StreamReadGroupAsync(Stream, StreamKeys.PersisterGroup, "p", ">", 1000);
        await Db.StreamAcknowledgeAsync(Stream, StreamKeys.PersisterGroup, [.. ids.Select(i => (RedisValue)i)]);
        var young = TimeSpan.FromHours(1);

        var unlimited = await Trimmer(retainCount: 10, retainFor: young, retainAtMost: 0).TrimAsync(Db, 0);
        var trimmed = await Trimmer(retainCount: 10, retainFor: young, retainAtMost: 100).TrimAsync(Db, 0);

        Assert.Equal(0, unlimited);
        // XTRIM MINID ~ removes whole nodes of at most stream-node-max-entries (100) entries, never more than
        // the 900 beyond the limit: at least the newest 100 stay, and less than one node more.
        var remaining = (await Db.StreamRangeAsync(Stream)).Select(e => e.Id.ToString()).ToList();
        Assert.InRange(remaining.Count, 100, 199);
        Assert.Equal(ids.Skip(ids.Count - remaining.Count), remaining);
        Assert.Equal(ids.Count - remaining.Count, trimmed);
    }

    [Theory]
    [InlineData(StreamKeys.PersisterGroup)]
    [InlineData("ranker")]
    public async Task Trimming_by_count_never_removes_an_entry_a_bounding_group_has_not_committed(string group)
    {
        var ids = await AddAsync(1000);
        await Db.StreamCreateConsumerGroupAsync(Stream, StreamKeys.PersisterGroup, "0");
        if (group != StreamKeys.PersisterGroup)
        {
            await Db.StreamReadGroupAsync(Stream, StreamKeys.PersisterGroup, "p", ">", 1000);
            await Db.StreamAcknowledgeAsync(Stream, StreamKeys.PersisterGroup, [.. ids.Select(i => (RedisValue)i)]);
            await Db.StreamCreateConsumerGroupAsync(Stream, group, "0");
        }
        // The group committed 400; 200 are delivered but pending, 400 never delivered: 600 beyond the 100 kept at most.
        var delivered = await Db.StreamReadGroupAsync(Stream, group, "c", ">", 600);
        await Db.StreamAcknowledgeAsync(Stream, group, [.. delivered.Take(400).Select(e => e.Id)]);

        var trimmed = await Trimmer(retainCount: 0, retainFor: TimeSpan.FromHours(1), retainAtMost: 100).TrimAsync(Db, 0);

        var remaining = (await Db.StreamRangeAsync(Stream)).Select(e => e.Id.ToString()).ToList();
        Assert.True(trimmed > 0, "nothing was trimmed");
        Assert.Equal(ids.Skip(400), remaining.Skip(remaining.Count - 600));
        Assert.Equal(ids.Count - trimmed, remaining.Count);
    }

    private StreamTrimmer Trimmer(int retainCount, TimeSpan? retainFor = null, string? boundGroups = null, int? retainAtMost = null) => new(
        Client,
        Options.Create(new TrimOptions
        {
            RetainCount = retainCount,
            RetainFor = retainFor ?? TimeSpan.Zero,
            RetainAtMost = retainAtMost ?? new TrimOptions().RetainAtMost,
            BoundGroups = boundGroups ?? new TrimOptions().BoundGroups,
        }),
        Options.Create(new Arena.ServiceDefaults.ArenaOptions()),
        TestConsumer.Meters,
        TimeProvider.System,
        NullLogger<StreamTrimmer>.Instance);
}
