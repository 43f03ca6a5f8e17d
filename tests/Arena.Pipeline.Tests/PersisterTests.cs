using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Arena.Contracts;
using Arena.Messaging;
using Arena.Pipeline.Tests.Infrastructure;
using StackExchange.Redis;

namespace Arena.Pipeline.Tests;

/// <summary>The persister against real Redis, real DuckDB files and real processes killed with -9.</summary>
public sealed class PersisterTests(ITestOutputHelper output) : PipelineTest(output)
{
    protected override IDictionary<string, string>? IngestSettings => new Dictionary<string, string>();

    private ServiceProcess Persister(params (string Key, string Value)[] settings) =>
        TestServices.Persister(Redis, DataDir, Output, settings.ToDictionary(s => s.Key, s => s.Value));

    /// <summary>The persister's file holds each posted event once: <paramref name="count"/> rows, each its own stream ID.</summary>
    private void AssertStoredOnce(int count, HashSet<string> posted)
    {
        var stored = PersisterFile.Read(DataDir);
        Assert.Equal(count, stored.Count);
        Assert.Equal(count, stored.DistinctStreamIds);
        Assert.Equal(posted, stored.EventIds);
    }

    /// <summary>Posts <paramref name="runs"/> × <paramref name="perRun"/> events in batches of 100; returns their event ids.</summary>
    private async Task<HashSet<string>> PostAsync(int runs, int perRun, bool twice = false)
    {
        var ids = new HashSet<string>();
        for (var r = 0; r < runs; r++)
        {
            var events = Events.Run($"run-{r}", perRun);
            foreach (var batch in events.Chunk(100))
            {
                var body = Events.Array(batch);
                var results = await Events.AcceptedAsync(await Events.PostAsync(Ingest.Http, body));
                ids.UnionWith(results.Select(x => x.EventId));
                if (twice)
                {
                    var again = await Events.AcceptedAsync(await Events.PostAsync(Ingest.Http, body));
                    Assert.All(again, x => Assert.True(x.Duplicate));
                }
            }
        }
        return ids;
    }

    private async Task StopGracefullyAsync(ServiceProcess persister)
    {
        Assert.Equal(0, await persister.TerminateAsync(TimeSpan.FromSeconds(60)));
    }

    [Fact]
    public async Task Metrics_report_the_data_volume_and_the_duckdb_file_when_scraped()
    {
        await PostAsync(runs: 2, perRun: 50);
        await using var persister = await Persister().WaitReadyAsync();
        await Wait.UntilAsync(() => ConsumerGroups.CaughtUpAsync(Db), "the events stored");

        var metrics = await persister.Http.GetStringAsync("/metrics");
        double Gauge(string name) => Regex.Match(metrics, $@"^{name}(\{{[^}}]*\}})? (?<value>\S+)$", RegexOptions.Multiline) is { Success: true } m
            ? double.Parse(m.Groups["value"].Value, CultureInfo.InvariantCulture)
            : throw new Xunit.Sdk.XunitException($"{name} is not on /metrics");
        var volume = new DriveInfo(DataDir);
        Assert.Equal(volume.TotalSize, Gauge("arena_data_dir_size_bytes"));
        Assert.InRange(Gauge("arena_data_dir_free_bytes"), 1, volume.TotalSize);
        Assert.InRange(Gauge("arena_duckdb_file_bytes"), 1, volume.TotalSize - Gauge("arena_data_dir_free_bytes"));
    }

    [Fact]
    public async Task Redelivered_batches_are_written_once()
    {
        var posted = await PostAsync(runs: 10, perRun: 100);
        await using (var first = await Persister(("Persister__BatchSize", "100")).WaitReadyAsync())
        {
            await Wait.UntilAsync(() => ConsumerGroups.CaughtUpAsync(Db), "the first pass");
            await StopGracefullyAsync(first);
        }

        // Rewind the group: every entry is delivered a second time.
        await Db.ExecuteAsync("XGROUP", "SETID", PipelineState.Stream, "persister", "0");
        await using (var second = await Persister(("Persister__BatchSize", "100")).WaitReadyAsync())
        {
            await Wait.UntilAsync(() => ConsumerGroups.CaughtUpAsync(Db), "the second pass");
            var metrics = await second.Http.GetStringAsync("/metrics");
            Assert.Contains("arena_persister_rows_redelivered_total", metrics, StringComparison.Ordinal);
            Assert.Matches(@"arena_persister_rows_redelivered_total\{[^}]*\} 1000\b", metrics);
            await StopGracefullyAsync(second);
        }

        AssertStoredOnce(1000, posted);
    }

    [Fact]
    public async Task Persister_killed_between_commit_and_ack_writes_nothing_twice_and_loses_nothing()
    {
        var posted = await PostAsync(runs: 4, perRun: 250);

        await using (var crashing = Persister([("Persister__BatchSize", "100"), .. FaultInjection.KillAfterCommits(3)]))
        {
            var exit = await crashing.WaitForExitAsync(TimeSpan.FromSeconds(60));
            Assert.Equal(137, exit); // 128 + SIGKILL
        }
        // The third batch is committed but was never acknowledged (and the fourth, read ahead, may be pending too).
        Assert.Contains(await PipelineState.PendingAsync(Db), new long[] { 100, 200 });
        Assert.Equal(300, PersisterFile.Read(DataDir).Count);

        await using (var restarted = await Persister(("Persister__BatchSize", "100")).WaitReadyAsync())
        {
            await Wait.UntilAsync(() => ConsumerGroups.CaughtUpAsync(Db), "the restarted persister to drain");
            await StopGracefullyAsync(restarted);
        }

        AssertStoredOnce(1000, posted);
    }

    [Fact]
    public async Task Persister_killed_after_a_grown_transaction_writes_nothing_twice_and_loses_nothing()
    {
        var posted = await PostAsync(runs: 4, perRun: 250);

        // Transactions of 100, then 200 rows while the backlog lasts; killed after the second commit.
        await using (var crashing = Persister([("Persister__BatchSize", "100"), ("Persister__MaxBatchSize", "400"), .. FaultInjection.KillAfterCommits(2)]))
        {
            Assert.Equal(137, await crashing.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        }
        // The grown transaction is committed but was never acknowledged (and the 400 read ahead may be pending too).
        Assert.Equal(300, PersisterFile.Read(DataDir).Count);
        Assert.Contains(await PipelineState.PendingAsync(Db), new long[] { 200, 600 });

        await using (var restarted = await Persister(("Persister__BatchSize", "100"), ("Persister__MaxBatchSize", "400")).WaitReadyAsync())
        {
            await Wait.UntilAsync(() => ConsumerGroups.CaughtUpAsync(Db), "the restarted persister to drain");
            await StopGracefullyAsync(restarted);
        }

        AssertStoredOnce(1000, posted);
    }

    [Fact]
    public async Task Write_ahead_log_is_checkpointed_beside_the_writer_and_every_event_is_stored_once()
    {
        var posted = await PostAsync(runs: 10, perRun: 1000);
        await using var persister = await Persister(("Persister__CheckpointAtWalMiB", "1")).WaitReadyAsync();
        await Wait.UntilAsync(() => ConsumerGroups.CaughtUpAsync(Db), "the events stored");

        // About 4 MiB of log, checkpointed from 1 MiB on: written into the file until less than 1 MiB is left.
        var wal = Path.Combine(DataDir, PersisterFile.FileName + ".wal");
        await Wait.UntilAsync(() => !File.Exists(wal) || new FileInfo(wal).Length < 1 << 20, "the log checkpointed");
        var checkpoints = Regex.Match(await persister.Http.GetStringAsync("/metrics"),
            @"^arena_persister_checkpoint_duration_seconds_count(\{[^}]*\})? (?<n>\d+)$", RegexOptions.Multiline);
        Assert.True(checkpoints.Success, "arena_persister_checkpoint_duration_seconds is not on /metrics");
        Assert.InRange(long.Parse(checkpoints.Groups["n"].Value, CultureInfo.InvariantCulture), 1, 1000);
        Assert.DoesNotMatch(@"arena_persister_checkpoint_failures_total(\{[^}]*\})? [1-9]", await persister.Http.GetStringAsync("/metrics"));
        await StopGracefullyAsync(persister);

        AssertStoredOnce(10_000, posted);
    }

    [Fact]
    public async Task Ten_thousand_events_posted_twice_with_the_persister_killed_halfway_arrive_exactly_once()
    {
        var persister = await Persister(("Persister__BatchSize", "100")).WaitReadyAsync();
        var posting = PostAsync(runs: 10, perRun: 1000, twice: true);

        await Wait.UntilAsync(async () => await PipelineState.PersistedCountAsync(persister.Http) >= 5000, "half the events to be persisted");
        await persister.KillAsync();
        await persister.DisposeAsync();
        Output.WriteLine($"killed with {PersisterFile.Read(DataDir).Count} rows stored, {await PipelineState.PendingAsync(Db)} pending");

        await using (var restarted = await Persister(("Persister__BatchSize", "100")).WaitReadyAsync())
        {
            var posted = await posting;
            Assert.Equal(10_000, posted.Count);
            await Wait.UntilAsync(() => ConsumerGroups.CaughtUpAsync(Db), "the restarted persister to drain");
            Assert.Equal(10_000, await PipelineState.PersistedCountAsync(restarted.Http));
            await StopGracefullyAsync(restarted);

            AssertStoredOnce(10_000, posted);
        }
    }

    [Fact]
    public async Task Entries_of_a_killed_persister_are_claimed_by_its_successor_and_written_once()
    {
        var posted = await PostAsync(runs: 2, perRun: 500);
        await using (var crashing = Persister([("Persister__ConsumerName", "first"), ("Persister__BatchSize", "100"), .. FaultInjection.KillAfterCommits(2)]))
        {
            Assert.Equal(137, await crashing.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        }
        // The committed, unacknowledged batch, and the next one if it had been read ahead.
        var held = await PipelineState.PendingAsync(Db);
        Assert.Contains(held, new long[] { 100, 200 });

        // A new instance under another name: only XAUTOCLAIM can give it the dead one's entries.
        await using (var successor = await Persister(("Persister__ConsumerName", "second"), ("Persister__BatchSize", "100"),
            ("Persister__ClaimMinIdle", "00:00:01"), ("Persister__ClaimInterval", "00:00:00.200")).WaitReadyAsync())
        {
            await Wait.UntilAsync(() => ConsumerGroups.CaughtUpAsync(Db), "the successor to drain");
            Assert.Matches($@"arena_consumer_messages_claimed_total\{{[^}}]*group=""persister""[^}}]*\}} {held}\b", await successor.Http.GetStringAsync("/metrics"));
            await StopGracefullyAsync(successor);
        }

        var stored = PersisterFile.Read(DataDir);
        Assert.Equal(1000, stored.Count);
        Assert.Equal(posted, stored.EventIds);
    }

    [Fact]
    public async Task Sigterm_mid_batch_leaves_nothing_pending()
    {
        await PostAsync(runs: 10, perRun: 1000);
        await using var persister = await Persister(("Persister__BatchSize", "500")).WaitReadyAsync();
        await Wait.UntilAsync(async () => await PipelineState.PersistedCountAsync(persister.Http) > 0, "persisting to begin");

        Assert.Equal(0, await persister.TerminateAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal(0, await PipelineState.PendingAsync(Db));
        var stored = PersisterFile.Read(DataDir);
        var delivered = (await Db.StreamGroupInfoAsync(PipelineState.Stream)).Single().LastDeliveredId;
        // Everything handed to the persister is committed, and nothing beyond it.
        Assert.Equal(stored.Max(r => r.StreamId).ToString(), delivered!.ToString());
        Assert.Equal(stored.Count, stored.DistinctStreamIds);
    }

    [Fact]
    public async Task Forced_overflow_is_reported_as_a_stream_overflow_event_naming_the_lost_range()
    {
        await using var capped = await TestServices.Ingest(Redis, Output, new Dictionary<string, string> { ["Ingest__MaxStreamLength"] = "1000" }).WaitReadyAsync();
        await Db.StreamCreateConsumerGroupAsync(PipelineState.Stream, StreamKeys.PersisterGroup, "0", createStream: true);
        var streamIds = new List<string>();
        foreach (var batch in Events.Run("run-o", 1500).Chunk(100))
        {
            streamIds.AddRange((await Events.AcceptedAsync(await Events.PostAsync(capped.Http, Events.Array(batch)))).Select(r => r.StreamId));
        }
        Assert.Equal(1000, await Db.StreamLengthAsync(PipelineState.Stream));
        Assert.Matches(@"arena_stream_overflow_lost_total\{[^}]*\} 500\b", await capped.Http.GetStringAsync("/metrics"));

        await using var persister = await Persister(("Persister__TrimInterval", "00:00:00.200")).WaitReadyAsync();
        JsonElement overflow = default;
        await Wait.UntilAsync(async () =>
        {
            using var page = JsonDocument.Parse(await persister.Http.GetStringAsync($"/v1/runs/{PipelineRun.Id}/events"));
            var events = page.RootElement.GetProperty("events");
            overflow = events.GetArrayLength() > 0 ? events[0].Clone() : default;
            return events.GetArrayLength() > 0;
        }, "the stream_overflow event to be persisted");

        Assert.Equal("stream_overflow", overflow.GetProperty("type").GetString());
        var payload = overflow.GetProperty("payload");
        Assert.Equal(streamIds[0], payload.GetProperty("first_lost_id").GetString());
        Assert.Equal(streamIds[499], payload.GetProperty("last_lost_id").GetString());
        Assert.Equal(500, payload.GetProperty("lost").GetInt64());
        Assert.Equal(PipelineState.Stream, payload.GetProperty("stream").GetString());
        Assert.Contains("Stream overflow", persister.Output, StringComparison.Ordinal);
        await Wait.UntilAsync(async () => await PipelineState.PersistedCountAsync(persister.Http) == 1001, "the surviving events and the report");
    }

    [Fact]
    public async Task A_stream_of_young_entries_is_held_at_RetainAtMost_by_trimming_not_by_the_hard_cap()
    {
        await using var capped = await TestServices.Ingest(Redis, Output, new Dictionary<string, string> { ["Ingest__MaxStreamLength"] = "1000" }).WaitReadyAsync();
        await using var persister = await Persister(("Persister__TrimInterval", "00:00:00.200"), ("Persister__RetainFor", "01:00:00"),
            ("Persister__RetainCount", "100"), ("Persister__RetainAtMost", "300")).WaitReadyAsync();

        // Twice the hard cap, every event younger than RetainFor, posted no faster than the persister commits them.
        var posted = 0;
        foreach (var batch in Events.Run("run-r", 2000).Chunk(100))
        {
            posted += (await Events.AcceptedAsync(await Events.PostAsync(capped.Http, Events.Array(batch)))).Count;
            await Wait.UntilAsync(async () => await ConsumerGroups.CaughtUpAsync(Db) && await Db.StreamLengthAsync(PipelineState.Stream) < 400,
                $"the persister to commit and the trimmer to hold the stream under 400 entries after {posted} events");
        }

        Assert.Equal(2000, posted);
        // Trimming removes whole nodes (at most 100 entries each) and never more than the excess: the newest 300 stay.
        Assert.InRange(await Db.StreamLengthAsync(PipelineState.Stream), 300, 399);
        Assert.False(await Db.KeyExistsAsync(StreamKeys.Overflow(0)), "the hard cap cut entries");
        Assert.Equal(2000, await PipelineState.PersistedCountAsync(persister.Http));
    }

    [Fact]
    public async Task Unparseable_entry_goes_to_the_dead_letter_stream_and_the_rest_is_written()
    {
        await PostAsync(runs: 1, perRun: 5);
        var junk = await Db.StreamAddAsync(PipelineState.Stream, "envelope", "{not json");
        await PostAsync(runs: 1, perRun: 5); // same ids: duplicates, nothing added
        await Events.AcceptedAsync(await Events.PostAsync(Ingest.Http, Events.Array(Events.Run("run-z", 5))));

        await using var persister = await Persister().WaitReadyAsync();
        await Wait.UntilAsync(() => ConsumerGroups.CaughtUpAsync(Db), "the persister to drain");

        Assert.Equal(10, await PipelineState.PersistedCountAsync(persister.Http));
        var dead = Assert.Single(await Db.StreamRangeAsync(StreamKeys.DeadLetters(0)));
        Assert.Equal(junk.ToString(), dead["original_id"].ToString());
        Assert.Equal(PipelineState.Stream, dead["original_stream"].ToString());
        Assert.Equal("persister", dead["group"].ToString());
        Assert.Equal("{not json", dead["envelope"].ToString());
        Assert.Contains("not valid JSON", dead["error"].ToString(), StringComparison.Ordinal);
        Assert.Equal(1, (int)dead["deliveries"]);
        Assert.True(DateTimeOffset.TryParse(dead["failed_at"].ToString(), System.Globalization.CultureInfo.InvariantCulture, out _));
    }

    [Fact]
    public async Task Envelopes_are_stored_as_their_utf8_text_and_bytes_that_are_not_utf8_as_the_text_they_decode_to()
    {
        static byte[] Envelope(int seq, byte[] message) =>
        [
            .. Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture,
                $"{{\"event_id\":\"u-{seq}\",\"run_id\":\"run-u\",\"seq\":{seq},\"type\":\"observation\",\"schema_version\":1,\"ts\":\"2026-11-23T10:00:00Z\",\"payload\":{{\"message\":\"")),
            .. message,
            .. "\"}}"u8,
        ];
        byte[] text = Encoding.UTF8.GetBytes("Zürich, 東京 🎮");
        byte[] broken = [(byte)'a', 0xC3, (byte)'(', 0xFF, (byte)'z'];
        await Db.StreamAddAsync(PipelineState.Stream, StreamFields.Envelope, Envelope(1, text));
        await Db.StreamAddAsync(PipelineState.Stream, StreamFields.Envelope, Envelope(2, broken));

        await using var persister = await Persister().WaitReadyAsync();
        await Wait.UntilAsync(() => ConsumerGroups.CaughtUpAsync(Db), "the persister to drain");

        using var page = JsonDocument.Parse(await persister.Http.GetStringAsync("/v1/runs/run-u/events"));
        var messages = page.RootElement.GetProperty("events").EnumerateArray()
            .Select(e => e.GetProperty("payload").GetProperty("message").GetString()).ToList();
        Assert.Equal(["Zürich, 東京 🎮", Encoding.UTF8.GetString(broken)], messages);
        Assert.Contains('\uFFFD', messages[1]!);
    }

    [Fact]
    public async Task History_api_lists_runs_and_pages_a_run_in_stream_order()
    {
        await PostAsync(runs: 2, perRun: 25);
        await using var persister = await Persister().WaitReadyAsync();
        await Wait.UntilAsync(async () => await PipelineState.PersistedCountAsync(persister.Http) == 50, "50 events");

        var gameEnd = """{"event_id":"run-0:26","run_id":"run-0","seq":26,"type":"game_end","schema_version":1,"ts":"2026-11-23T10:05:00Z","payload":{"results":[{"player_id":"p1","model":"a","rank":1},{"player_id":"p2","model":"b","rank":2}]}}""";
        await Events.AcceptedAsync(await Events.PostAsync(Ingest.Http, gameEnd));
        await Wait.UntilAsync(async () => await PipelineState.PersistedCountAsync(persister.Http) == 51, "the game_end");

        using var runs = JsonDocument.Parse(await persister.Http.GetStringAsync("/v1/runs"));
        var byRun = runs.RootElement.GetProperty("runs").EnumerateArray().ToDictionary(r => r.GetProperty("run_id").GetString()!);
        Assert.Equal(26, byRun["run-0"].GetProperty("events").GetInt64());
        Assert.Equal("finished", byRun["run-0"].GetProperty("status").GetString());
        Assert.Equal("running", byRun["run-1"].GetProperty("status").GetString());
        Assert.Equal("2026-11-23T10:00:00.123+00:00", byRun["run-1"].GetProperty("first_ts").GetString());

        var seqs = new List<long>();
        var streamIds = new List<StreamId>();
        string? after = null;
        var pages = 0;
        do
        {
            using var page = JsonDocument.Parse(await persister.Http.GetStringAsync($"/v1/runs/run-0/events?limit=10{(after is null ? "" : $"&after={after}")}"));
            foreach (var e in page.RootElement.GetProperty("events").EnumerateArray())
            {
                seqs.Add(e.GetProperty("seq").GetInt64());
                streamIds.Add(StreamId.Parse(e.GetProperty("stream_id").GetString()!));
                Assert.Equal("run-0", e.GetProperty("run_id").GetString());
            }
            after = page.RootElement.GetProperty("next_after").GetString();
            pages++;
        }
        while (after is not null);

        Assert.Equal(3, pages);
        Assert.Equal(Enumerable.Range(1, 26).Select(i => (long)i), seqs);
        Assert.Equal(streamIds.Order(), streamIds);

        var ndjson = await persister.Http.GetStringAsync("/v1/runs/run-0/export?format=ndjson");
        Assert.Equal(26, ndjson.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        var parquet = await persister.Http.GetByteArrayAsync("/v1/runs/run-0/export?format=parquet");
        Assert.Equal("PAR1"u8.ToArray(), parquet[..4]);
    }

    [Fact]
    public async Task Committed_mark_stops_just_below_the_oldest_pending_entry_and_reaches_the_last_delivered_one_when_none_is_pending()
    {
        var ids = (await Events.AcceptedAsync(await Events.PostAsync(Ingest.Http, Events.Array(Events.Run("run-c", 5)))))
            .Select(r => StreamId.Parse(r.StreamId)).ToList();
        // Another consumer of the group holds the first two entries without acknowledging them, beyond the persister's claim threshold.
        await Db.StreamCreateConsumerGroupAsync(PipelineState.Stream, StreamKeys.PersisterGroup, "0");
        Assert.Equal(2, (await Db.StreamReadGroupAsync(PipelineState.Stream, StreamKeys.PersisterGroup, "holder", ">", 2)).Length);
        await using var persister = await Persister(("Persister__ClaimMinIdle", "01:00:00")).WaitReadyAsync();
        await Wait.UntilAsync(async () => await PipelineState.PersistedCountAsync(persister.Http) == 3, "the other three events stored");
        await Wait.UntilAsync(async () => await PipelineState.PendingAsync(Db) == 2, "only the held entries pending");

        var held = await CommittedAsync(persister);
        Assert.Equal(ids[0].Previous().ToString(), held.GetProperty("committed_through").GetString());
        Assert.Equal(2, held.GetProperty("pending").GetInt64());
        Assert.Equal(ids[0].ToString(), held.GetProperty("oldest_pending").GetString());

        await Db.StreamAcknowledgeAsync(PipelineState.Stream, StreamKeys.PersisterGroup, [ids[0].ToString(), ids[1].ToString()]);
        var released = await CommittedAsync(persister);
        Assert.Equal(ids[^1].ToString(), released.GetProperty("committed_through").GetString());
        Assert.Equal(0, released.GetProperty("pending").GetInt64());
        Assert.Equal(JsonValueKind.Null, released.GetProperty("oldest_pending").ValueKind);
    }

    /// <summary>The single partition's entry of <c>GET /v1/committed</c>.</summary>
    private static async Task<JsonElement> CommittedAsync(ServiceProcess persister)
    {
        using var response = await persister.Http.GetAsync("/v1/committed");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var partition = Assert.Single((await Events.ReadJsonAsync(response)).GetProperty("partitions").EnumerateArray());
        Assert.Equal(0, partition.GetProperty("partition").GetInt32());
        return partition;
    }

    [Fact]
    public async Task Committed_mark_of_a_missing_stream_or_group_is_null()
    {
        Assert.Equal(default, await CommittedMark.ReadAsync(Db, 0, StreamKeys.PersisterGroup));

        await Db.StreamCreateConsumerGroupAsync(PipelineState.Stream, "ranker", "0", createStream: true);
        Assert.Equal(default, await CommittedMark.ReadAsync(Db, 0, StreamKeys.PersisterGroup));

        // Created at the stream's start, nothing delivered: committed through 0-0, i.e. nothing.
        await Db.StreamCreateConsumerGroupAsync(PipelineState.Stream, StreamKeys.PersisterGroup, "0");
        Assert.Equal(new CommittedMark(StreamId.Zero, 0, null), await CommittedMark.ReadAsync(Db, 0, StreamKeys.PersisterGroup));
    }

    [Fact]
    public async Task Committed_lists_every_partition()
    {
        await using var persister = await Persister(("Arena__Partitions", "2")).WaitReadyAsync();
        await Wait.UntilAsync(async () => (await Db.StreamGroupInfoAsync(StreamKeys.Events(1))).Any(g => g.Name == StreamKeys.PersisterGroup),
            "the persister's group on partition 1");

        using var response = await persister.Http.GetAsync("/v1/committed");
        var partitions = (await Events.ReadJsonAsync(response)).GetProperty("partitions").EnumerateArray().ToList();
        Assert.Equal([0, 1], partitions.Select(p => p.GetProperty("partition").GetInt32()));
        Assert.All(partitions, p => Assert.Equal("0-0", p.GetProperty("committed_through").GetString()));
        Assert.All(partitions, p => Assert.Equal(0, p.GetProperty("pending").GetInt64()));
    }

    [Theory]
    [InlineData("/v1/runs/run-0/events?after=12", "after")]
    [InlineData("/v1/runs/run-0/events?after=a-b", "after")]
    [InlineData("/v1/runs/run-0/events?limit=0", "limit")]
    [InlineData("/v1/runs/run-0/events?limit=100001", "limit")]
    [InlineData("/v1/runs/bad%20id/events", "run_id")]
    [InlineData("/v1/runs?limit=x", "limit")]
    [InlineData("/v1/runs/run-0/export?format=csv", "format")]
    public async Task Bad_history_queries_get_400_naming_the_parameter(string url, string field)
    {
        await using var persister = await Persister().WaitReadyAsync();

        var response = await persister.Http.GetAsync(url);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(field, problem.RootElement.GetProperty("errors")[0].GetProperty("field").GetString());
    }

    [Fact]
    public async Task A_second_persister_on_the_same_file_refuses_to_start()
    {
        await using var first = await Persister().WaitReadyAsync();
        await using var second = Persister();

        Assert.Equal(2, await second.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        Assert.Contains("Only one persister process may open the file", second.Output, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await first.Http.GetAsync("/readyz")).StatusCode);
    }
}
