using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Text.Json;
using Arena.Contracts;
using Arena.Messaging;
using Arena.Pipeline.Tests.Infrastructure;
using StackExchange.Redis;

namespace Arena.Pipeline.Tests;

/// <summary>
/// Bounds that hold by bytes, not only by counts: the stream's byte cap, Redis under its
/// <c>maxmemory</c> with 64 KiB events at full rate, overflow recorded per group, capped DLQs,
/// and a group's lag that survives a Redis restart.
/// </summary>
public sealed class MemoryBoundTests(ITestOutputHelper output) : PipelineTest(output)
{
    private static readonly string Stream = StreamKeys.Events(0);

    /// <summary>An observation of about <paramref name="bytes"/> bytes (under the 64 KiB event limit), with producer id <c>{runId}:{seq}</c>.</summary>
    private static string Large(string runId, int seq, int bytes = 60_000) => string.Create(CultureInfo.InvariantCulture,
        $"{{\"event_id\":\"{runId}:{seq}\",\"run_id\":\"{runId}\",\"seq\":{seq},\"type\":\"observation\",\"schema_version\":1,\"ts\":\"2026-11-23T10:00:00Z\",\"payload\":{{\"turn\":{seq},\"player_id\":\"p1\",\"observation\":\"{new string('o', bytes)}\"}}}}");

    [Fact]
    public async Task Stream_is_held_to_its_byte_cap_and_each_group_gets_its_own_overflow_record()
    {
        const long cap = 1024 * 1024;
        await using var ingest = await TestServices.Ingest(Redis, Output, new Dictionary<string, string> { ["Ingest__MaxStreamBytes"] = cap.ToString(CultureInfo.InvariantCulture) })
            .WaitReadyAsync();
        await Db.StreamCreateConsumerGroupAsync(Stream, StreamKeys.PersisterGroup, "$", createStream: true);
        await Db.StreamCreateConsumerGroupAsync(Stream, "ranker", "$");
        var accepted = new List<string>();
        for (var batch = 0; batch < 5; batch++)
        {
            var events = Enumerable.Range(batch * 10, 10).Select(seq => Large("run-big", seq)).ToList();
            accepted.AddRange((await Events.AcceptedAsync(await Events.PostAsync(ingest.Http, Events.Array(events)))).Select(r => r.StreamId));
            // The persister has committed everything so far; the ranker never reads.
            var read = await Db.StreamReadGroupAsync(Stream, StreamKeys.PersisterGroup, "p", ">", 100);
            await Db.StreamAcknowledgeAsync(Stream, StreamKeys.PersisterGroup, [.. read.Select(e => e.Id)]);
        }

        var length = await Db.StreamLengthAsync(Stream);
        var size = (long)await Db.StringGetAsync(StreamKeys.Size(0));
        Output.WriteLine($"{accepted.Count} events of ~60 KB posted: {length} entries kept, size {size} bytes (cap {cap})");
        Assert.InRange(size, cap - 70_000, cap);
        Assert.InRange(length, 15, 17);
        var removed = accepted.Count - (int)length;
        // Only the ranker lost what was removed: the persister had committed all of it.
        var overflow = (await Db.HashGetAllAsync(StreamKeys.Overflow(0))).ToDictionary(e => e.Name.ToString(), e => e.Value.ToString());
        Assert.Equal(new Dictionary<string, string>
        {
            ["ranker:first"] = accepted[0],
            ["ranker:last"] = accepted[removed - 1],
            ["ranker:count"] = removed.ToString(CultureInfo.InvariantCulture),
        }, overflow);
        Assert.Matches($@"arena_stream_overflow_lost_total\{{[^}}]*\}} {removed}\b", await ingest.Http.GetStringAsync("/metrics"));

        // The trimmer reports it as the ranker's loss, and measures the stream again after a trim.
        await using var persister = await TestServices.Persister(Redis, DataDir, Output, new Dictionary<string, string>
        {
            ["Persister__TrimInterval"] = "00:00:00.200",
            ["Persister__RetainCount"] = "5",
            ["Persister__RetainFor"] = "00:00:00",
            ["Persister__BoundGroups"] = "persister",
        }).WaitReadyAsync();
        JsonElement report = default;
        await Wait.UntilAsync(async () =>
        {
            using var page = JsonDocument.Parse(await persister.Http.GetStringAsync($"/v1/runs/{PipelineRun.Id}/events"));
            var events = page.RootElement.GetProperty("events");
            report = events.GetArrayLength() > 0 ? events[0].GetProperty("payload").Clone() : default;
            return events.GetArrayLength() > 0;
        }, "the ranker's stream_overflow report");
        Assert.Equal("ranker", report.GetProperty("group").GetString());
        Assert.Equal(accepted[0], report.GetProperty("first_lost_id").GetString());
        Assert.Equal(removed, report.GetProperty("lost").GetInt64());
        await Wait.UntilAsync(async () => await Db.StreamLengthAsync(Stream) < length, "a trim below the persister's commits");
        var measured = (long)await Db.StringGetAsync(StreamKeys.Size(0));
        var usage = (long)await Db.ExecuteAsync("MEMORY", "USAGE", Stream, "SAMPLES", "0");
        Output.WriteLine($"after trimming to {await Db.StreamLengthAsync(Stream)} entries: size key {measured}, MEMORY USAGE {usage}");
        Assert.InRange(measured, usage * 0.9, usage * 1.1);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task The_entry_cap_counts_what_each_group_had_not_read_or_still_held_whether_or_not_Redis_knows_its_lag(bool aGroupsLagUnknown)
    {
        await using var ingest = await TestServices.Ingest(Redis, Output, new Dictionary<string, string> { ["Ingest__MaxStreamLength"] = "1000" })
            .WaitReadyAsync();
        var accepted = new List<string>();
        async Task PostAsync(int from) => accepted.AddRange((await Events.AcceptedAsync(
            await Events.PostAsync(ingest.Http, Events.Array(Events.Run("run-c", 500, from + 1))))).Select(r => r.StreamId));
        await PostAsync(0);
        await PostAsync(500);
        // The persister was delivered the first 300 and committed 100; the ranker was delivered 600 and holds two.
        await Db.StreamCreateConsumerGroupAsync(Stream, StreamKeys.PersisterGroup, "0");
        var read = await Db.StreamReadGroupAsync(Stream, StreamKeys.PersisterGroup, "p", ">", 300);
        await Db.StreamAcknowledgeAsync(Stream, StreamKeys.PersisterGroup, [.. read.Take(100).Select(e => e.Id)]);
        await Db.StreamCreateConsumerGroupAsync(Stream, "ranker", "0");
        read = await Db.StreamReadGroupAsync(Stream, "ranker", "r", ">", 600);
        await Db.StreamAcknowledgeAsync(Stream, "ranker", [.. read.Where((_, i) => i is not (50 or 400)).Select(e => e.Id)]);
        if (aGroupsLagUnknown)
        {
            // A group set to an entry inside the stream: Redis cannot say how many it has read. It has lost nothing.
            await Db.StreamCreateConsumerGroupAsync(Stream, "audit", accepted[600]);
            Assert.Null((await Db.StreamGroupInfoAsync(Stream)).Single(g => g.Name == "audit").Lag);
        }

        await PostAsync(1000);

        Assert.Equal(1000, await Db.StreamLengthAsync(Stream));
        Assert.Equal(accepted[500], (await Db.StreamRangeAsync(Stream, "-", "+", 1))[0].Id.ToString());
        var overflow = (await Db.HashGetAllAsync(StreamKeys.Overflow(0))).ToDictionary(e => e.Name.ToString(), e => e.Value.ToString());
        Assert.Equal(new Dictionary<string, string>
        {
            // Never delivered 300–499, pending 100–299.
            ["first"] = accepted[100],
            ["last"] = accepted[499],
            ["count"] = "400",
            ["ranker:first"] = accepted[50],
            ["ranker:last"] = accepted[400],
            ["ranker:count"] = "2",
        }, overflow);
        // Lost to some group: 100–499, and 50.
        Assert.Equal(401, Lost(await ingest.Http.GetStringAsync("/metrics")));
    }

    [Fact]
    public async Task Entries_the_entry_cap_removes_unread_leave_the_byte_count_true_so_the_byte_cap_still_holds()
    {
        const long cap = 1024 * 1024;
        await using var ingest = await TestServices.Ingest(Redis, Output, new Dictionary<string, string>
        {
            ["Ingest__MaxStreamLength"] = "1000",
            ["Ingest__MaxStreamBytes"] = cap.ToString(CultureInfo.InvariantCulture),
        }).WaitReadyAsync();
        // A full stream of small events, then larger ones that push the small out by the entry cap
        // until the byte cap binds: the small ones' bytes must not be taken for the stream's average.
        await Events.AcceptedAsync(await Events.PostAsync(ingest.Http, Events.Array(Events.Run("run-small", 1000))));
        for (var batch = 0; batch < 12; batch++)
        {
            await Events.AcceptedAsync(await Events.PostAsync(ingest.Http, Events.Array(Enumerable.Range(batch * 50, 50).Select(seq => Large("run-big", seq, 2_000)))));
        }

        var entries = await Db.StreamRangeAsync(Stream);
        var bytes = entries.Sum(e => e.Values.Sum(v => ((byte[])v.Name!).Length + ((byte[])v.Value!).Length));
        var counted = (long)await Db.StringGetAsync(StreamKeys.Size(0));
        Output.WriteLine($"{entries.Length} entries of {bytes} bytes (cap {cap}); counted {counted}");
        Assert.InRange(bytes, cap - 3_000, cap);
        Assert.InRange(counted, bytes * 0.98, bytes * 1.02);
    }

    [Fact]
    public async Task A_deleted_stream_starts_its_byte_count_again()
    {
        await using var ingest = await TestServices.Ingest(Redis, Output, new Dictionary<string, string> { ["Ingest__MaxStreamBytes"] = (1024 * 1024).ToString(CultureInfo.InvariantCulture) })
            .WaitReadyAsync();
        await Events.AcceptedAsync(await Events.PostAsync(ingest.Http, Events.Array(Enumerable.Range(0, 10).Select(seq => Large("run-a", seq)))));
        await Db.KeyDeleteAsync(Stream);

        await Events.AcceptedAsync(await Events.PostAsync(ingest.Http, Events.Array(Enumerable.Range(0, 10).Select(seq => Large("run-b", seq)))));

        Assert.Equal(10, await Db.StreamLengthAsync(Stream));
        Assert.InRange((long)await Db.StringGetAsync(StreamKeys.Size(0)), 600_000, 610_000);
        Assert.Equal(0, Lost(await ingest.Http.GetStringAsync("/metrics")));
    }

    [Fact]
    public async Task Redis_stays_under_its_maxmemory_with_64_KiB_events_at_full_rate_and_every_accepted_event_is_stored_or_counted_lost()
    {
        const long maxMemory = 32L * 1024 * 1024;
        await using var redis = await RedisProcess.StartAsync("always", null, "--maxmemory", maxMemory.ToString(CultureInfo.InvariantCulture), "--maxmemory-policy", "noeviction");
        await using var client = await ConnectionMultiplexer.ConnectAsync($"{redis.Configuration},allowAdmin=true");
        var db = client.GetDatabase();
        await using var ingest = await TestServices.Ingest(redis, Output, new Dictionary<string, string> { ["Ingest__MaxStreamBytes"] = (4 * 1024 * 1024).ToString(CultureInfo.InvariantCulture) })
            .WaitReadyAsync();
        // A read batch is held whole in Redis's output buffer: 50 entries of 64 KiB is 3 MiB.
        await using var persister = await TestServices.Persister(redis, DataDir, Output, new Dictionary<string, string> { ["Persister__BatchSize"] = "50" })
            .WaitReadyAsync();

        // Three times maxmemory of events, from four producers at once, as fast as ingest takes them;
        // a 503 (Redis slower than the request's budget on a busy machine) is sent again, as producers do.
        const int batches = 27, batch = 15;
        var statuses = new ConcurrentBag<HttpStatusCode>();
        var accepted = new ConcurrentBag<string>();
        var peak = 0L;
        using var sampling = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            while (!sampling.IsCancellationRequested)
            {
                peak = Math.Max(peak, UsedMemory(await db.ExecuteAsync("INFO", "memory")));
                await Task.Delay(20);
            }
        });
        var posting = System.Diagnostics.Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, 4).Select(producer => Task.Run(async () =>
        {
            for (var seq = 0; seq < batches * batch; seq += batch)
            {
                var body = Events.Array(Enumerable.Range(seq, batch).Select(s => Large($"run-{producer}", s)));
                for (var attempt = 1; ; attempt++)
                {
                    var response = await Events.PostAsync(ingest.Http, body);
                    statuses.Add(response.StatusCode);
                    if (response.StatusCode != HttpStatusCode.ServiceUnavailable || attempt == 5)
                    {
                        foreach (var result in await Events.AcceptedAsync(response))
                        {
                            accepted.Add(result.StreamId);
                        }
                        break;
                    }
                    await Task.Delay(TimeSpan.FromSeconds(1));
                }
            }
        })));
        await sampling.CancelAsync();
        await sampler;
        var info = (await db.ExecuteAsync("INFO", "memory")).ToString();
        var reportedPeak = long.Parse(Field(info, "used_memory_peak"), CultureInfo.InvariantCulture);
        Output.WriteLine($"{accepted.Count} events (~{accepted.Count * 60_000L >> 20} MiB) accepted in {posting.Elapsed.TotalSeconds:F1} s " +
            $"({statuses.Count(s => s == HttpStatusCode.ServiceUnavailable)} answers 503, sent again); Redis used_memory sampled peak {peak >> 20} MiB, " +
            $"used_memory_peak {reportedPeak >> 20} MiB, maxmemory {maxMemory >> 20} MiB; stream {await db.StreamLengthAsync(Stream)} entries");

        Assert.All(statuses, s => Assert.Contains(s, new[] { HttpStatusCode.Accepted, HttpStatusCode.ServiceUnavailable }));
        Assert.Equal(4 * batches * batch, accepted.Count);
        Assert.True(reportedPeak < maxMemory, $"Redis peaked at {reportedPeak} bytes, over its maxmemory of {maxMemory}");

        // Whatever the byte cap removed before the persister committed it is counted lost (and, when
        // the report itself outlives the cap, named in a stream_overflow event); everything else is stored.
        await Wait.UntilAsync(() => ConsumerGroups.CaughtUpAsync(db), "the persister to drain", TimeSpan.FromSeconds(120));
        var lost = Lost(await ingest.Http.GetStringAsync("/metrics"));
        await persister.KillAsync();
        var stored = PersisterFile.Read(DataDir).Produced;
        Output.WriteLine($"drained {posting.Elapsed.TotalSeconds:F1} s after the first post: stored {stored.Count}, counted lost {lost}");
        Assert.Equal(stored.Count, stored.DistinctStreamIds);
        Assert.True(stored.Count + lost >= accepted.Count, $"{accepted.Count - stored.Count - lost} accepted events are neither stored nor counted lost");
        Assert.Subset(accepted.Select(StreamId.Parse).ToHashSet(), stored.Select(r => r.StreamId).ToHashSet());
    }

    [Fact]
    public async Task A_dead_letter_stream_keeps_its_cap_and_counts_what_it_dropped()
    {
        await using var ranker = await TestServices.Ranker(Redis, DataDir, Output, new Dictionary<string, string> { ["Ranker__MaxDeadLetters"] = "100" })
            .WaitReadyAsync();
        await using var ingest = await TestServices.Ingest(Redis, Output).WaitReadyAsync();
        // Any producer may send game ends of a schema version the ranker cannot read: each is a dead letter.
        var posted = new List<string>();
        foreach (var chunk in Enumerable.Range(0, 150).Chunk(50))
        {
            var bodies = chunk.Select(i => Events.GameEnd($"future-{i}", ("a", 1), ("b", 2)).Replace("\"schema_version\":1", "\"schema_version\":2", StringComparison.Ordinal));
            posted.AddRange((await Events.AcceptedAsync(await Events.PostAsync(ingest.Http, Events.Array(bodies)))).Select(r => r.StreamId));
        }

        await Wait.UntilAsync(async () => Dropped(await ranker.Http.GetStringAsync("/metrics")) == 50, "the ranker to report 50 dropped dead letters");
        Assert.Equal(100, await Db.StreamLengthAsync(StreamKeys.DeadLetters(0)));
        var oldest = await Db.StreamRangeAsync(StreamKeys.DeadLetters(0), "-", "+", 1);
        Assert.Equal(posted[50], oldest[0][DeadLetters.OriginalId].ToString());
        Assert.Equal(50, (long)await Db.StringGetAsync(DeadLetters.DroppedOf(0)));
    }

    [Fact]
    public async Task A_groups_lag_after_a_Redis_restart_is_what_it_has_not_read()
    {
        for (var i = 0; i < 100; i++)
        {
            await Db.StreamAddAsync(Stream, "n", i);
        }
        await Db.StreamCreateConsumerGroupAsync(Stream, "g", "0");
        await Db.StreamReadGroupAsync(Stream, "g", "c", ">", 100);
        await Redis.KillAsync();
        await Redis.RestartAsync();
        await Wait.UntilAsync(async () => { try { return await Db.PingAsync() > TimeSpan.Zero; } catch (RedisException) { return false; } }, "Redis to come back");
        for (var i = 0; i < 50; i++)
        {
            await Db.StreamAddAsync(Stream, "n", i);
        }
        await Db.StreamReadGroupAsync(Stream, "g", "c", ">", 20);

        var group = (await Db.StreamGroupInfoAsync(Stream)).Single();
        // Redis no longer knows the group's read count after the restart: its own lag is missing.
        Assert.Null(group.Lag);
        Assert.Equal(30, await LagAsync());

        await Db.StreamReadGroupAsync(Stream, "g", "c", ">", 100);
        Assert.Equal(0, await LagAsync());
    }

    private async Task<long> LagAsync()
    {
        var info = await Db.StreamInfoAsync(Stream);
        var group = (await Db.StreamGroupInfoAsync(Stream)).Single();
        return await GroupLag.ReadAsync(Db, Stream, group, info.Length, StreamId.Parse(info.LastGeneratedId.ToString()));
    }

    private static long UsedMemory(RedisResult info) => long.Parse(Field(info.ToString(), "used_memory"), CultureInfo.InvariantCulture);

    private static string Field(string info, string name) =>
        info.Split('\n').Select(l => l.Trim()).First(l => l.StartsWith(name + ":", StringComparison.Ordinal))[(name.Length + 1)..];

    private static long Dropped(string metrics) => Metric(metrics, "arena_dlq_dropped_total");

    private static long Lost(string metrics) => Metric(metrics, "arena_stream_overflow_lost_total");

    private static long Metric(string metrics, string name) =>
        System.Text.RegularExpressions.Regex.Match(metrics, name + @"(\{[^}]*\})? (\d+)") is { Success: true } m
            ? long.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture)
            : -1;
}
