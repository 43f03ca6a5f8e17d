using System.Buffers;
using System.Text;
using System.Text.Json;
using Arena.Cli;
using Arena.Contracts;
using Arena.Contracts.Validation;

namespace Arena.Load.Tests;

public sealed class RateScheduleTests
{
    [Fact]
    public void Batches_are_due_at_their_first_event_over_the_rate()
    {
        // 2,000 events/s in batches of 10: a batch every 5 ms, in microsecond ticks.
        var schedule = new RateSchedule(2000, 10, ticksPerSecond: 1_000_000);
        Assert.Equal(0, schedule.DueTicks(0));
        Assert.Equal(5_000, schedule.DueTicks(1));
        Assert.Equal(10_000, schedule.DueTicks(2));
        Assert.Equal(1_000_000, schedule.DueTicks(200));
    }

    [Fact]
    public void Due_times_are_absolute_so_they_never_drift()
    {
        // 3 events/s does not divide a second evenly; a per-step sum of rounded intervals would drift.
        var schedule = new RateSchedule(3, 1, ticksPerSecond: 10_000_000);
        Assert.Equal(10_000_000L * 1_000_000 / 3, schedule.DueTicks(1_000_000), tolerance: 1);
        for (long i = 1; i < 1000; i++)
        {
            var step = schedule.DueTicks(i) - schedule.DueTicks(i - 1);
            Assert.InRange(step, 3_333_333, 3_333_334);
        }
    }

    [Fact]
    public void Flat_out_makes_every_batch_due_at_once()
    {
        var schedule = new RateSchedule(null, 100);
        Assert.False(schedule.IsPaced);
        Assert.Equal(0, schedule.DueTicks(12345));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-5)]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    public void A_rate_must_be_positive(double rate)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new RateSchedule(rate, 1));
    }
}

public sealed class BatchPlanTests
{
    [Fact]
    public void Batches_go_round_robin_and_each_run_counts_seq_from_one()
    {
        var plan = new BatchPlan(batchSize: 10, runs: 3, totalEvents: 95);
        var slots = new List<BatchSlot>();
        for (long i = 0; plan.TryGet(i, out var slot); i++)
        {
            slots.Add(slot);
        }

        Assert.Equal(10, slots.Count);
        Assert.Equal(95, slots.Sum(s => s.Count));
        Assert.Equal(5, slots[^1].Count); // only the last batch is short
        Assert.All(slots, s => Assert.Equal((int)(s.Index % 3), s.Run));
        foreach (var run in slots.GroupBy(s => s.Run))
        {
            var seqs = run.OrderBy(s => s.Index).SelectMany(s => Enumerable.Range(0, s.Count).Select(k => s.FirstSeq + k)).ToList();
            Assert.Equal(Enumerable.Range(1, seqs.Count).Select(k => (long)k), seqs);
        }
    }

    [Fact]
    public void Without_a_total_the_plan_never_ends()
    {
        var plan = new BatchPlan(1000, 7, null);
        Assert.True(plan.TryGet(10_000_000, out var slot));
        Assert.Equal(1000, slot.Count);
        Assert.Equal(10_000_000 % 7, slot.Run);
        Assert.Equal(10_000_000 / 7 * 1000 + 1, slot.FirstSeq);
    }
}

public sealed class LatencyHistogramTests
{
    [Fact]
    public void Percentiles_match_sorted_samples_within_the_bucket_precision()
    {
        var random = new Random(7);
        var histogram = new LatencyHistogram();
        var samples = new List<long>();
        for (var i = 0; i < 100_000; i++)
        {
            // Log-uniform from 1 µs to ~10 s, with a heavy tail, like latencies.
            var value = (long)Math.Exp(random.NextDouble() * Math.Log(10_000_000));
            samples.Add(value);
            histogram.RecordMicroseconds(value);
        }
        samples.Sort();

        foreach (var percent in new[] { 0.0, 1, 25, 50, 90, 99, 99.9, 99.99, 100 })
        {
            var exact = (double)samples[Math.Max(1, (int)Math.Ceiling(percent / 100 * samples.Count)) - 1];
            var reported = histogram.PercentileMicroseconds(percent);
            Assert.True(reported >= exact, $"p{percent}: {reported} below the exact {exact}");
            Assert.True(reported <= exact * (1 + 1.0 / 256), $"p{percent}: {reported} more than 1/256 above the exact {exact}");
        }
        Assert.Equal(samples[^1], histogram.PercentileMicroseconds(100));
        Assert.Equal(samples.Count, histogram.Count);
    }

    [Fact]
    public void Small_values_are_exact()
    {
        var histogram = new LatencyHistogram();
        foreach (var value in new long[] { 3, 1, 2, 4, 100 })
        {
            histogram.RecordMicroseconds(value);
        }
        Assert.Equal(1, histogram.PercentileMicroseconds(20));
        Assert.Equal(3, histogram.PercentileMicroseconds(50));
        Assert.Equal(4, histogram.PercentileMicroseconds(80));
        Assert.Equal(100, histogram.PercentileMicroseconds(99));
        var summary = histogram.Summary();
        Assert.Equal(0.022, summary.MeanMs);
        Assert.Equal(0.1, summary.MaxMs);
    }

    [Fact]
    public void Bucket_indexes_are_contiguous_and_bounds_contain_their_values()
    {
        var previous = -1;
        for (long value = 0; value < 1 << 18; value++)
        {
            var index = LatencyHistogram.IndexOf(value);
            Assert.InRange(index, previous, previous + 1);
            Assert.InRange(value, 0, LatencyHistogram.HighestInBucket(index));
            Assert.True(index == 0 || LatencyHistogram.HighestInBucket(index - 1) < value);
            previous = index;
        }
    }

    [Fact]
    public void Concurrent_recording_loses_nothing()
    {
        var histogram = new LatencyHistogram();
        Parallel.For(0, 8, _ =>
        {
            for (var i = 0; i < 50_000; i++)
            {
                histogram.RecordMicroseconds(i % 1000);
            }
        });
        Assert.Equal(400_000, histogram.Count);
        Assert.Equal(999, histogram.PercentileMicroseconds(100));
    }

    [Fact]
    public void Values_beyond_the_range_are_clamped_not_lost()
    {
        var histogram = new LatencyHistogram();
        histogram.RecordMicroseconds(long.MaxValue);
        histogram.RecordMicroseconds(-5);
        histogram.RecordMilliseconds(double.PositiveInfinity);
        Assert.Equal(3, histogram.Count);
        Assert.Equal(0, histogram.PercentileMicroseconds(0));
        Assert.Equal((1L << 40) - 1, histogram.PercentileMicroseconds(100));
    }

    [Fact]
    public void An_empty_histogram_reports_zeros()
    {
        Assert.Equal(new LatencySummary(0, 0, 0, 0, 0, 0), new LatencyHistogram().Summary());
    }

    [Fact]
    public void Nearest_rank_of_samples()
    {
        double[] sorted = [10, 20, 30, 40, 50, 60, 70, 80, 90, 100];
        Assert.Equal(50, Percentiles.NearestRank(sorted, 50));
        Assert.Equal(100, Percentiles.NearestRank(sorted, 99));
        Assert.Equal(10, Percentiles.NearestRank(sorted, 0));
        Assert.Equal(0, Percentiles.NearestRank([], 99));
    }
}

public sealed class CommitLagTrackerTests
{
    private static StreamId Id(long ms, long seq = 0) => new(ms, seq);

    [Fact]
    public void Lag_is_now_minus_the_oldest_accepted_batch_not_yet_committed()
    {
        var tracker = new CommitLagTracker(2);
        tracker.Accepted(run: 0, events: 10, highest: Id(100, 9), time: 100);
        tracker.Accepted(run: 1, events: 5, highest: Id(120, 4), time: 120);
        tracker.Accepted(run: 0, events: 10, highest: Id(150, 9), time: 150);

        Assert.Equal(100, tracker.LagAt(200));

        tracker.Committed(0, Id(100, 8));   // all but the batch's last event: it is still the oldest invisible
        Assert.Equal(100, tracker.LagAt(200));

        tracker.Committed(0, Id(100, 9));   // through its highest ID: run 1's batch at t=120 is oldest
        Assert.Equal(80, tracker.LagAt(200));

        tracker.Committed(1, Id(149, 0));
        Assert.Equal(50, tracker.LagAt(200));

        tracker.Committed(0, Id(9999));
        Assert.Equal(0, tracker.LagAt(200));
        Assert.Null(tracker.OldestInvisible());
        Assert.Equal((25L, 25L), tracker.Totals());
    }

    [Fact]
    public void Marks_never_go_back_and_batches_committed_before_their_202_are_not_waited_for()
    {
        var tracker = new CommitLagTracker(1);
        tracker.Committed(0, Id(200));           // the persister committed events whose request has not been answered yet
        tracker.Accepted(0, 10, Id(150, 9), time: 50);
        Assert.Null(tracker.OldestInvisible());

        tracker.Accepted(0, 10, Id(300), time: 60);
        tracker.Committed(0, Id(100));           // an older, lower mark answered late
        Assert.Equal(40, tracker.LagAt(100));
        tracker.Accepted(0, 1, Id(180), time: 70);   // committed, but waits behind the older batch
        Assert.Equal((21L, 10L), tracker.Totals());

        tracker.Committed(0, Id(300));
        Assert.Equal((21L, 21L), tracker.Totals());
        Assert.Equal(0, tracker.LagAt(100));
    }

    [Fact]
    public void A_batch_committed_behind_an_older_one_leaves_with_it_and_the_older_one_decides_the_lag()
    {
        // Two requests of one run in flight: the later-answered batch got the lower stream IDs.
        var tracker = new CommitLagTracker(1);
        tracker.Accepted(0, 10, Id(500), time: 10);
        tracker.Accepted(0, 10, Id(400), time: 12);

        tracker.Committed(0, Id(450));
        Assert.Equal(90, tracker.LagAt(100));
        Assert.Equal((20L, 0L), tracker.Totals());

        tracker.Committed(0, Id(500));
        Assert.Equal((20L, 20L), tracker.Totals());
    }

    [Fact]
    public void Nothing_accepted_means_no_lag()
    {
        Assert.Equal(0, new CommitLagTracker(3).LagAt(1_000));
    }
}

public sealed class AcceptedIdsTests
{
    [Fact]
    public void The_highest_stream_id_of_a_202_is_compared_as_numbers()
    {
        var json = """
            {"results":[
              {"event_id":"r:1","stream_id":"1700000000999-5","duplicate":false},
              {"event_id":"r:2","stream_id":"1700000001000-0","duplicate":false},
              {"event_id":"r:3","stream_id":"1700000000999-10","duplicate":true}
            ]}
            """;
        Assert.Equal(new StreamId(1700000001000, 0), AcceptedIds.Highest(Encoding.UTF8.GetBytes(json)));
    }

    [Theory]
    [InlineData("""{"results":[]}""")]
    [InlineData("""{"results":[{"event_id":"r:1","stream_id":"12"}]}""")]
    [InlineData("""{"results":[{"event_id":"r:1","stream_id":null}]}""")]
    public void A_202_without_valid_stream_ids_is_refused(string json)
    {
        Assert.Throws<FormatException>(() => AcceptedIds.Highest(Encoding.UTF8.GetBytes(json)));
    }
}

public sealed class CommittedMarksTests
{
    [Fact]
    public void Marks_are_indexed_by_partition_and_null_where_the_group_does_not_exist()
    {
        var json = """
            {"partitions":[
              {"partition":1,"committed_through":null,"pending":0,"oldest_pending":null},
              {"partition":0,"committed_through":"1700000000999-4","pending":3,"oldest_pending":"1700000000999-5"}
            ]}
            """;
        Assert.Equal([new StreamId(1700000000999, 4), null], CommittedMarks.Read(Encoding.UTF8.GetBytes(json)));
    }

    [Theory]
    [InlineData("""{"partitions":[]}""")]
    [InlineData("""{"runs":[]}""")]
    [InlineData("""{"partitions":[{"partition":1,"committed_through":null}]}""")]
    [InlineData("""{"partitions":[{"partition":0,"committed_through":null},{"partition":0,"committed_through":null}]}""")]
    [InlineData("""{"partitions":[{"partition":0}]}""")]
    [InlineData("""{"partitions":[{"partition":0,"committed_through":"soon"}]}""")]
    public void Answers_that_do_not_list_each_partition_with_a_mark_are_refused(string json)
    {
        Assert.Throws<FormatException>(() => CommittedMarks.Read(Encoding.UTF8.GetBytes(json)));
    }
}

public sealed class SseIdScannerTests
{
    private const string Stream =
        "retry: 2000\n\n" +
        ": heartbeat\n\n" +
        "id: 1764160000000-0\nevent: observation\ndata: {\"run_id\":\"r\",\"stream_id\":\"1764160000000-0\"}\n\n" +
        "idle: not an id\n" +
        "id:1764160000250-3\r\ndata: {\"x\":1}\r\n\r\n" +
        "id: \n\n" +
        "id: nonsense\n\n" +
        "data: id: 1-1\n\n";

    [Fact]
    public void Finds_each_event_id_and_records_its_latency()
    {
        var histogram = new LatencyHistogram();
        var scanner = new SseIdScanner();
        var ids = scanner.Feed(Encoding.UTF8.GetBytes(Stream), nowUnixMs: 1764160000500.0, histogram);

        Assert.Equal(2, ids);
        Assert.Equal("1764160000250-3", scanner.LastId);
        Assert.Equal(2, histogram.Count);
        Assert.InRange(histogram.PercentileMicroseconds(0), 250_000, 250_000 * (1 + 1.0 / 256));
        Assert.InRange(histogram.PercentileMicroseconds(100), 500_000, 500_000 * (1 + 1.0 / 256));
    }

    [Fact]
    public void Any_split_of_the_stream_gives_the_same_ids()
    {
        var bytes = Encoding.UTF8.GetBytes(Stream);
        for (var cut = 0; cut <= bytes.Length; cut++)
        {
            var scanner = new SseIdScanner();
            var ids = scanner.Feed(bytes.AsSpan(0, cut), 0, null) + scanner.Feed(bytes.AsSpan(cut), 0, null);
            Assert.Equal(2, ids);
            Assert.Equal("1764160000250-3", scanner.LastId);
        }

        var byteByByte = new SseIdScanner();
        Assert.Equal(2, bytes.Sum(b => byteByByte.Feed([b], 0, null)));
    }

    [Fact]
    public void Receive_before_the_id_millisecond_counts_as_zero()
    {
        var histogram = new LatencyHistogram();
        new SseIdScanner().Feed("id: 1000-0\n\n"u8, 999.5, histogram);
        Assert.Equal(0, histogram.PercentileMicroseconds(100));
    }
}

public sealed class EventBatchWriterTests
{
    [Fact]
    public void Bodies_are_valid_observation_envelopes_of_about_the_asked_size()
    {
        string[] runs = ["load-test-0", "load-test-1"];
        var writer = new EventBatchWriter(runs, eventBytes: 600, eventIds: true);
        var buffer = new ArrayBufferWriter<byte>();
        // A clock reading with every digit of its fraction: UtcNow's trailing zeros are dropped, which made the size vary with the clock.
        writer.Write(buffer, run: 1, firstSeq: 41, count: 5, new DateTimeOffset(2026, 12, 2, 10, 0, 0, TimeSpan.Zero).AddTicks(1_234_567));

        using var json = JsonDocument.Parse(buffer.WrittenMemory);
        var events = json.RootElement.EnumerateArray().ToList();
        Assert.Equal(5, events.Count);
        var errors = new List<ValidationError>();
        for (var i = 0; i < events.Count; i++)
        {
            var e = EnvelopeValidator.Validate(events[i], i, errors);
            Assert.NotNull(e);
            Assert.Equal("load-test-1", e.RunId);
            Assert.Equal(41 + i, e.Seq);
            Assert.Equal($"load-test-1:{41 + i}", e.EventId);
            Assert.Equal("observation", e.Type);
            Assert.True(events[i].GetProperty("payload").GetProperty("observation").TryGetProperty("food", out _));
        }
        Assert.Empty(errors);
        Assert.InRange(buffer.WrittenCount / 5.0, 590, 615);
    }

    [Fact]
    public void Without_event_ids_and_below_the_bare_size_events_are_unpadded()
    {
        var writer = new EventBatchWriter(["r"], eventBytes: 1, eventIds: false);
        var buffer = new ArrayBufferWriter<byte>();
        writer.Write(buffer, 0, 1, 1, DateTimeOffset.UtcNow);
        using var json = JsonDocument.Parse(buffer.WrittenMemory);
        Assert.False(json.RootElement[0].TryGetProperty("event_id", out _));
        Assert.Equal(0, writer.PaddingBytes);
    }
}

public sealed class CommandLineTests
{
    [Fact]
    public void Defaults_send_flat_out_for_ten_seconds()
    {
        Assert.True(CommandLine.TryParse([], out var options, out var json, out _, out var error), error);
        Assert.Null(options.Rate);
        Assert.Equal(TimeSpan.FromSeconds(10), options.Duration);
        Assert.Null(options.Events);
        Assert.False(json);
    }

    [Fact]
    public void Rate_max_sends_flat_out()
    {
        Assert.True(CommandLine.TryParse(["--rate", "max", "--duration", "5"], out var options, out _, out _, out var error), error);
        Assert.Null(options.Rate);
        Assert.Equal(TimeSpan.FromSeconds(5), options.Duration);
    }

    [Fact]
    public void Every_option_is_read()
    {
        Assert.True(CommandLine.TryParse(
            ["--url", "http://h:1", "--rate", "2500.5", "--events", "5000", "--batch", "50", "--runs", "4", "--payload-bytes", "1000",
             "--connections", "16", "--api-key", "k", "--read-token", "t", "--sse", "http://h:4", "--sse-clients", "300", "--sse-spread",
             "--persister=http://h:2", "--persister-poll-ms", "50", "--lag-threshold-ms", "250", "--no-event-ids", "--run-prefix", "bench-1", "--json"],
            out var o, out var json, out _, out var error), error);
        Assert.Equal(new Uri("http://h:1"), o.IngestUrl);
        Assert.Equal(2500.5, o.Rate);
        Assert.Equal(5000, o.Events);
        Assert.Null(o.Duration);
        Assert.Equal((50, 4, 1000, 16, "k", "t"), (o.Batch, o.Runs, o.EventBytes, o.Connections, o.ApiKey, o.ReadToken));
        Assert.Equal((new Uri("http://h:4"), 300, true), (o.SseUrl, o.SseClients, o.SseSpread));
        Assert.Equal(new Uri("http://h:2"), o.PersisterUrl);
        Assert.Equal(TimeSpan.FromMilliseconds(50), o.PersisterPoll);
        Assert.Equal(TimeSpan.FromMilliseconds(250), o.LagThreshold);
        Assert.False(o.EventIds);
        Assert.Equal("bench-1", o.RunPrefix);
        Assert.True(json);
    }

    [Theory]
    [InlineData("--rate", "fast")]
    [InlineData("--rate", "0")]
    [InlineData("--batch", "1001")]
    [InlineData("--duration", "-1")]
    [InlineData("--sse-clients", "10")]
    [InlineData("--url", "localhost:8081")]
    [InlineData("--frobnicate")]
    [InlineData("--runs")]
    public void Bad_options_are_refused_with_a_message(params string[] args)
    {
        Assert.False(CommandLine.TryParse(args, out _, out _, out _, out var error));
        Assert.False(string.IsNullOrWhiteSpace(error));
    }

    [Fact]
    public async Task Help_lists_the_options_and_exits_0_without_running()
    {
        var stdout = new StringWriter();
        var ran = false;

        var exit = await ToolCommand.InvokeAsync(CommandLine.Command((_, _) =>
        {
            ran = true;
            return Task.FromResult(0);
        }), ["--help"], stdout, new StringWriter());

        Assert.Equal(ToolCommand.Ok, exit);
        Assert.False(ran);
        Assert.All(["--rate", "--sse-spread", "--persister-poll-ms", "--json", "--version"], o => Assert.Contains(o, stdout.ToString(), StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("--batch must be an integer from 1 to 1000 (got '1001')", "--batch", "1001")]
    [InlineData("Unrecognized command or argument '--frobnicate'", "--frobnicate")]
    [InlineData("--sse-clients needs --sse <gateway URL>", "--sse-clients", "10")]
    public async Task A_bad_option_exits_2_with_one_line_naming_it_and_runs_nothing(string problem, params string[] args)
    {
        var stderr = new StringWriter();
        var ran = false;

        var exit = await ToolCommand.InvokeAsync(CommandLine.Command((_, _) =>
        {
            ran = true;
            return Task.FromResult(0);
        }), args, new StringWriter(), stderr);

        Assert.Equal(ToolCommand.Usage, exit);
        Assert.False(ran);
        var lines = stderr.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal($"arena-load: {problem}", lines[0].TrimEnd('.'));
        Assert.Equal("Run 'arena-load --help' for usage.", lines[1]);
    }
}
