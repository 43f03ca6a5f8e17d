using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Arena.Contracts;
using Arena.Ingest;
using Arena.Load;
using Arena.Messaging;
using Arena.Persister;
using Arena.Persister.Storage;
using Arena.Storage;
using Microsoft.Extensions.Logging.Abstractions;
using StackExchange.Redis;
using static System.FormattableString;

namespace Arena.Bench;

/// <summary>The raw limits of the machine, one figure each; the pipeline's figures are ratios of these.</summary>
/// <remarks>
/// The Redis figures are measured on a server without persistence and again, where the
/// pipeline's figures compare with them, on one with the pipeline's own (AOF, <c>appendfsync always</c>).
/// </remarks>
public sealed record RawLimitFigures(
    Figure ServerXadd,
    Figure ClientXadd,
    Figure ClientXaddAlways,
    Figure DurableXaddP99,
    Figure XaddRedisCpu,
    Figure ScriptArgumentsRedisCpu,
    Figure ScriptXaddRedisCpu,
    Figure AppendScriptRedisCpu,
    Figure ReadGroupAck,
    Figure ReadGroupAckWithoutParsing,
    Figure ReadGroupAckWithoutParsingAlways,
    Figure Appender,
    Figure AppenderLargeTransactions,
    Figure Chained)
{
    public IReadOnlyList<Figure> All =>
        [ServerXadd, ClientXadd, ClientXaddAlways, DurableXaddP99, XaddRedisCpu, ScriptArgumentsRedisCpu, ScriptXaddRedisCpu, AppendScriptRedisCpu, ReadGroupAck, ReadGroupAckWithoutParsing, ReadGroupAckWithoutParsingAlways, Appender, AppenderLargeTransactions, Chained];
}

/// <summary>
/// What this machine does at best with the plain technique and the pipeline's data: stream
/// entries as ingest writes them (<see cref="SampleEvents"/>), rows as the persister stores
/// them. A Redis measurement needs an empty redis-server on 127.0.0.1 and deletes the stream
/// it used; a DuckDB measurement needs a folder and deletes its file. Each does a bounded
/// amount of work, some seconds' worth by default, and keeps the fastest of <see cref="Runs"/>
/// runs: on a shared machine the neighbours only ever slow a run down, by up to half.
/// </summary>
public static partial class RawLimits
{
    public const int Runs = 3;

    /// <summary>XADDs outstanding at once on the one multiplexer: 2,000 to 20,000 measured alike, 500 slower.</summary>
    public const int XaddsInFlight = 4_000;

    /// <summary>
    /// How long a .NET client first runs untimed, in rounds of <see cref="WarmUpRoundEntries"/>:
    /// the tiered JIT takes about that long (~500,000 XADDs) to reach the steady state a
    /// long-running service works in; cold, a run of 300,000 XADDs went at under half the rate.
    /// </summary>
    private static readonly TimeSpan WarmUp = TimeSpan.FromSeconds(3);
    private const int WarmUpRoundEntries = 20_000;

    private const string Group = "raw-limits";
    private const string Consumer = "raw-limits-1";
    private static readonly RedisKey Stream = StreamKeys.Events(0);


    /// <summary>
    /// Every raw limit at its default settings, one after the other; <paramref name="redisPort"/> is a
    /// server without persistence, <paramref name="alwaysPort"/> one with AOF <c>appendfsync always</c>;
    /// <paramref name="measured"/> hears of each as it completes.
    /// </summary>
    public static async Task<RawLimitFigures> MeasureAllAsync(int redisPort, int alwaysPort, string dir, Action<Figure> measured)
    {
        async Task<Figure> Reported(Task<Figure> measurement)
        {
            var figure = await measurement;
            measured(figure);
            return figure;
        }

        return new RawLimitFigures(
            await Reported(RedisBenchmarkXaddAsync(redisPort)),
            await Reported(ClientXaddAsync(redisPort, NoPersistence)),
            await Reported(ClientXaddAsync(alwaysPort, AppendFsyncAlways)),
            await Reported(DurableXaddLatencyAsync(alwaysPort)),
            await Reported(XaddRedisCpuAsync(redisPort)),
            await Reported(ScriptRedisCpuAsync(redisPort, ScriptKind.ArgumentsOnly)),
            await Reported(ScriptRedisCpuAsync(redisPort, ScriptKind.XaddsOnly)),
            await Reported(ScriptRedisCpuAsync(redisPort, ScriptKind.Ingest)),
            await Reported(ReadGroupAckAsync(redisPort, NoPersistence)),
            await Reported(ReadGroupAckAsync(redisPort, NoPersistence, parseEnvelopes: false)),
            await Reported(ReadGroupAckAsync(alwaysPort, AppendFsyncAlways, parseEnvelopes: false)),
            await Reported(DuckDbAppenderAsync(dir)),
            await Reported(DuckDbAppenderAsync(dir, rowsPerTransaction: 10_000)),
            await Reported(ChainedAsync(alwaysPort, AppendFsyncAlways, dir)));
    }

    /// <summary>
    /// The server's XADD ceiling: <c>redis-benchmark</c> adding one entry of median size, with
    /// ingest's fields, <paramref name="requests"/> times from <paramref name="connections"/>
    /// connections, <paramref name="pipeline"/> commands deep.
    /// </summary>
    public static async Task<Figure> RedisBenchmarkXaddAsync(int port, int requests = 500_000, int connections = 50, int pipeline = 16)
    {
        var samples = SampleEvents.Create(1_000);
        var median = samples.OrderBy(e => e.Envelope.Length).ElementAt(samples.Length / 2);
        var start = new ProcessStartInfo("redis-benchmark")
        {
            ArgumentList =
            {
                "-h", "127.0.0.1", "-p", Invariant($"{port}"), "-n", Invariant($"{requests}"),
                "-c", Invariant($"{connections}"), "-P", Invariant($"{pipeline}"), "-q", "XADD", Stream.ToString(), "*",
            },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var field in median.EntryFields())
        {
            start.ArgumentList.Add(field.Name.ToString());
            start.ArgumentList.Add(field.Value.ToString());
        }
        await using var redis = await ConnectAsync(port);
        var db = redis.GetDatabase();

        var rate = await BestOfRunsAsync(async () =>
        {
            using var process = Process.Start(start) ?? throw new InvalidOperationException("redis-benchmark did not start");
            var output = process.StandardOutput.ReadToEndAsync();
            var errors = process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync();
            // -q prints its progress, then one line per test: "<command>: <n> requests per second, p50=…".
            var reported = RequestsPerSecond().Matches(await output).LastOrDefault();
            if (process.ExitCode != 0 || reported is null)
            {
                throw new InvalidOperationException($"redis-benchmark exited with {process.ExitCode}: {await errors}{await output}");
            }
            await DeleteStreamAsync(db, requests);
            return double.Parse(reported.Groups[1].ValueSpan, CultureInfo.InvariantCulture);
        });
        return new Figure("redis-benchmark XADD",
            Invariant($"{requests:N0} entries of a {median.Envelope.Length} B envelope, {connections} connections, pipeline {pipeline}, best of {Runs}"),
            rate, "events/s", FigureKind.Raw);
    }

    /// <summary>The persistence of the server a figure was measured on, as its setting names it.</summary>
    public const string NoPersistence = "no persistence";
    public const string AppendFsyncAlways = "AOF appendfsync always";

    /// <summary>
    /// XADD from .NET: one StackExchange.Redis multiplexer, <paramref name="inFlight"/>
    /// concurrent <c>StreamAddAsync</c> calls at a time, <paramref name="count"/> distinct entries.
    /// </summary>
    public static async Task<Figure> ClientXaddAsync(int port, string persistence, int count = 300_000, int inFlight = XaddsInFlight)
    {
        var samples = SampleEvents.Create(count);
        var entries = Array.ConvertAll(samples, e => e.EntryFields());
        await using var redis = await ConnectAsync(port);
        var db = redis.GetDatabase();
        async Task<double> AddThenDeleteAsync(NameValueEntry[][] run)
        {
            var rate = run.Length / (await AddAsync(db, run, inFlight)).TotalSeconds;
            await DeleteStreamAsync(db, run.Length);
            return rate;
        }

        await WarmUpAsync(() => AddThenDeleteAsync(entries[..WarmUpRoundEntries]));
        return new Figure($"StackExchange.Redis XADD, {persistence}",
            Invariant($"{count:N0} entries of {AverageEnvelopeBytes(samples)} B envelopes, one multiplexer, {inFlight:N0} StreamAddAsync in flight, best of {Runs}"),
            await BestOfRunsAsync(() => AddThenDeleteAsync(entries)), "events/s", FigureKind.Raw);
    }

    /// <summary>
    /// What one bare XADD of an entry as ingest writes it costs inside Redis: <c>INFO commandstats</c>
    /// microseconds per call over <paramref name="count"/> XADDs sent as <see cref="ClientXaddAsync"/> sends them.
    /// </summary>
    public static async Task<Figure> XaddRedisCpuAsync(int port, int count = 100_000)
    {
        var samples = SampleEvents.Create(count);
        await using var redis = await ConnectAsync(port, admin: true);
        var server = redis.GetServers()[0];
        await RedisCommandStats.ResetAsync(server);
        await AddAsync(redis.GetDatabase(), Array.ConvertAll(samples, e => e.EntryFields()), XaddsInFlight);
        var usec = (await RedisCommandStats.ReadAsync(server)).UsecPer(count, "xadd");
        await DeleteStreamAsync(redis.GetDatabase(), count);
        return new Figure("XADD inside Redis", Invariant($"INFO commandstats over {count:N0} entries of {AverageEnvelopeBytes(samples)} B envelopes"),
            usec, "µs/event", FigureKind.Raw);
    }

    /// <summary>
    /// How long one durable write takes: <paramref name="count"/> XADDs of one entry each, one at
    /// a time at <paramref name="perSecond"/> a second (the rate of the SSE latency runs'
    /// requests), on the server with <c>appendfsync always</c>, where every answer waits for
    /// the fsync of its write. An entry reaches any reader only after that fsync, so the p99 of
    /// this round trip is a floor under the ingest → SSE p99.
    /// </summary>
    public static async Task<Figure> DurableXaddLatencyAsync(int alwaysPort, int perSecond = 100, int count = 1_000)
    {
        var samples = SampleEvents.Create(count);
        await using var redis = await ConnectAsync(alwaysPort);
        var db = redis.GetDatabase();
        await WarmUpAsync(() => db.StreamAddAsync(Stream, samples[0].EntryFields()));
        await db.KeyDeleteAsync(Stream);
        var latencies = new LatencyHistogram();
        var schedule = new RateSchedule(perSecond, batchSize: 1);
        var started = Stopwatch.GetTimestamp();
        for (var i = 0; i < count; i++)
        {
            var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), started + schedule.DueTicks(i));
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait);
            }
            var start = Stopwatch.GetTimestamp();
            await db.StreamAddAsync(Stream, samples[i].EntryFields());
            latencies.RecordMilliseconds(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
        }
        await DeleteStreamAsync(db, count);
        var summary = latencies.Summary();
        return new Figure("XADD round trip p99, AOF appendfsync always",
            Invariant($"{count:N0} XADDs of one entry, one at a time at {perSecond}/s, each answered after its fsync; p50 {summary.P50Ms:F2} ms"),
            summary.P99Ms, "ms", FigureKind.Raw);
    }

    /// <summary>The scripts whose time inside Redis <see cref="ScriptRedisCpuAsync"/> measures.</summary>
    public enum ScriptKind
    {
        /// <summary>Returns at once: what receiving the arguments costs (Redis turns each into a Lua string, hashing every byte).</summary>
        ArgumentsOnly,
        /// <summary>Only XADDs each entry with ingest's fields: the floor of any script that appends.</summary>
        XaddsOnly,
        /// <summary>Ingest's own append script, called as ingest calls it.</summary>
        Ingest,
    }

    /// <summary>
    /// What a Lua script costs inside Redis per event: <c>INFO commandstats</c> microseconds of
    /// <paramref name="kind"/>, called one call at a time with exactly the arguments ingest sends
    /// (<see cref="StreamAppender.Call"/>) for batches of <paramref name="batch"/>, every event id
    /// the producer's and so deduplicated, at ingest's default dedupe window and far below its caps.
    /// Deletes what the calls wrote.
    /// </summary>
    public static async Task<Figure> ScriptRedisCpuAsync(int port, ScriptKind kind, int count = 100_000, int batch = 100)
    {
        var samples = SampleEvents.Create(count);
        await using var redis = await ConnectAsync(port, admin: true);
        var server = redis.GetServers()[0];
        var db = redis.GetDatabase();
        var defaults = new IngestOptions();
        var caps = new StreamAppender.Caps(defaults.MaxStreamLength, defaults.MaxStreamBytes);
        var dedupe = new StreamAppender.Dedupe(defaults.DedupeWindow);
        var script = kind == ScriptKind.XaddsOnly ? XaddsOnlyScript : "return 0";

        Task CallAsync(int first)
        {
            var events = samples.AsSpan(first, Math.Min(batch, count - first));
            var entries = new StreamAppender.Entry[events.Length];
            for (var i = 0; i < events.Length; i++)
            {
                entries[i] = new StreamAppender.Entry(events[i].EventId, events[i].RunId, events[i].Type, events[i].Envelope, Deduplicate: true);
            }
            var shared = new StreamAppender.Shared(events[0].Ts.ToUnixTimeMilliseconds());
            if (kind == ScriptKind.Ingest)
            {
                return StreamAppender.AppendAsync(db, 0, entries, shared, caps, dedupe, StreamKeys.PersisterGroup);
            }
            var (keys, args) = StreamAppender.Call(0, entries, shared, caps, dedupe, StreamKeys.PersisterGroup);
            return db.ScriptEvaluateAsync(script, keys, args);
        }

        // The first call loads the script and is not counted: every measured call is an EVALSHA.
        await CallAsync(0);
        await RedisCommandStats.ResetAsync(server);
        for (var first = batch; first < count; first += batch)
        {
            await CallAsync(first);
        }
        var usec = (await RedisCommandStats.ReadAsync(server)).UsecPer(count - batch, "evalsha", "eval");
        await server.FlushDatabaseAsync();
        var (name, what) = kind switch
        {
            ScriptKind.ArgumentsOnly => ("A script's arguments inside Redis", "a script that returns at once"),
            ScriptKind.XaddsOnly => ("XADDs from a script inside Redis", "a script that only XADDs each entry with ingest's fields"),
            _ => ("Ingest's append script inside Redis, idle", "ingest's own script"),
        };
        return new Figure(name,
            Invariant($"INFO commandstats of {what}, called one call at a time with ingest's arguments for batches of {batch} ({AverageEnvelopeBytes(samples)} B envelopes, every event id deduplicated), over {count:N0} entries"),
            usec, "µs/event", FigureKind.Raw);
    }

    /// <summary>
    /// Each entry of the call XADDed with its own four fields and the call's shared ones, as
    /// ingest's script adds a new entry, and nothing else (the arguments as <see cref="StreamAppender.Call"/> lays them out).
    /// </summary>
    private static readonly string XaddsOnlyScript = $$"""
        local count, shared = tonumber(ARGV[5]), tonumber(ARGV[6])
        local first = 9 + shared * 2
        local fields = {KEYS[1], '*', '{{StreamFields.EventId}}', false, '{{StreamFields.RunId}}', false, '{{StreamFields.Type}}', false, '{{StreamFields.Envelope}}', false}
        for i = 9, first - 1 do fields[#fields + 1] = ARGV[i] end
        local ids = {}
        for e = 1, count do
          local a = first + (e - 1) * 4
          fields[4], fields[6], fields[8], fields[10] = ARGV[a], ARGV[a + 1], ARGV[a + 2], ARGV[a + 3]
          ids[e] = redis.call('XADD', unpack(fields))
        end
        return ids
        """;

    /// <summary>
    /// One consumer draining a stream of <paramref name="count"/> entries: XREADGROUP COUNT
    /// <paramref name="batchSize"/>, then (with <paramref name="parseEnvelopes"/>) every token of
    /// each envelope read with <see cref="Utf8JsonReader"/>, then XACK of the batch.
    /// </summary>
    public static async Task<Figure> ReadGroupAckAsync(int port, string persistence, bool parseEnvelopes = true, int count = 300_000, int batchSize = 1_000)
    {
        var samples = SampleEvents.Create(count);
        var entries = Array.ConvertAll(samples, e => e.EntryFields());
        await using var redis = await ConnectAsync(port);
        var db = redis.GetDatabase();

        await WarmUpAsync(() => FillThenDrainAsync(db, entries[..WarmUpRoundEntries], batchSize, parseEnvelopes));
        return new Figure((parseEnvelopes ? "XREADGROUP + parse + XACK, " : "XREADGROUP + XACK, ") + persistence,
            Invariant($"{count:N0} entries of {AverageEnvelopeBytes(samples)} B envelopes, COUNT {batchSize:N0}, one consumer, ")
                + (parseEnvelopes ? "Utf8JsonReader over every envelope" : "envelopes not parsed") + Invariant($", best of {Runs}"),
            await BestOfRunsAsync(() => FillThenDrainAsync(db, entries, batchSize, parseEnvelopes)), "events/s", FigureKind.Raw);
    }

    /// <summary>DuckDB as it comes, a thread per core (the services run one fewer: <see cref="DuckDbOptions.DuckDbThreads"/>).</summary>
    private static readonly DuckDbOptions PlainDuckDb = new() { DuckDbThreads = Environment.ProcessorCount };

    /// <summary>
    /// The DuckDB appender writing <paramref name="count"/> rows into a new file table shaped
    /// like the persister's (primary key included), <paramref name="rowsPerTransaction"/> rows
    /// per appender and transaction, as the persister commits a batch; automatic checkpoints
    /// included, the one at closing not. As many rows as the persister's drain commits, by default:
    /// the table's key index, and so each row's cost, grows with them.
    /// </summary>
    public static async Task<Figure> DuckDbAppenderAsync(string dir, int rowsPerTransaction = 1_000, int count = ConsumerBenchmarks.DrainEntries)
    {
        var samples = SampleEvents.Create(count);
        var ids = StreamIdsOf(samples);
        var envelopes = Array.ConvertAll(samples, e => Encoding.UTF8.GetString(e.Envelope));
        var fileName = Invariant($"raw-appender-{rowsPerTransaction}.duckdb");

        double AppendToNewFile()
        {
            var clock = new Stopwatch();
            using (var file = DuckDbFile.Open(dir, fileName, EventStore.Schema, "raw limits", PlainDuckDb))
            {
                clock.Start();
                for (var first = 0; first < count; first += rowsPerTransaction)
                {
                    AppendCommitted(file, ids.AsSpan(first, Math.Min(rowsPerTransaction, count - first)), samples, envelopes, first);
                }
                clock.Stop();
            }
            DeleteDuckDbFile(dir, fileName);
            return count / clock.Elapsed.TotalSeconds;
        }

        return new Figure("DuckDB appender",
            Invariant($"{count:N0} rows of {AverageEnvelopeBytes(samples)} B envelopes into a file table with the persister's key, {rowsPerTransaction:N0} rows per transaction, best of {Runs}"),
            await BestOfRunsAsync(() => Task.Run(AppendToNewFile)), "rows/s", FigureKind.Raw);
    }

    /// <summary>
    /// Appends one row per ID, the k-th row made of sample <c>(first + k) mod samples</c>, with
    /// one appender in one transaction, as the persister commits a batch.
    /// </summary>
    private static void AppendCommitted(DuckDbFile file, ReadOnlySpan<StreamId> ids, SampleEvent[] samples, string[] envelopes, long first)
    {
        using var transaction = file.Writer.BeginTransaction();
        using (var appender = file.Writer.CreateAppender("events"))
        {
            for (var k = 0; k < ids.Length; k++)
            {
                var i = (int)((first + k) % samples.Length);
                var e = samples[i];
                appender.CreateRow()
                    .AppendValue(0)
                    .AppendValue(ids[k].Milliseconds)
                    .AppendValue(ids[k].Sequence)
                    .AppendValue(e.EventId)
                    .AppendValue(e.RunId)
                    .AppendValue(e.Seq)
                    .AppendValue(e.Type)
                    .AppendValue(e.SchemaVersion)
                    .AppendValue(e.Ts)
                    .AppendValue(e.Ts)
                    .AppendValue(envelopes[i])
                    .AppendNullValue() // producer: ingest open
                    .EndRow();
            }
        }
        transaction.Commit();
    }

    private static void DeleteDuckDbFile(string dir, string fileName)
    {
        File.Delete(Path.Combine(dir, fileName));
        File.Delete(Path.Combine(dir, fileName + ".wal"));
    }

    /// <summary>How far the chain's XADDs may run ahead of its slowest stage.</summary>
    public const int ChainMaxAhead = 20_000;

    private static readonly TimeSpan ChainMeasured = TimeSpan.FromSeconds(10);

    // The chain's stages, in the order of ChainBackpressure's counts: the producer first.
    private const int Producing = 0, Appending = 1, SecondGroup = 2, Tailing = 3;
    private const int ReadCount = 1_000;

    /// <summary>
    /// The raw stages of one event through the pipeline, all at once on the same cores, on one
    /// server of the given <paramref name="persistence"/>: XADD as <see cref="ClientXaddAsync"/>
    /// sends it, held to at most <paramref name="maxAhead"/> entries ahead of the slowest stage;
    /// two consumer groups' XREADGROUP + XACK as <see cref="ReadGroupAckAsync"/> does them
    /// (envelopes not parsed), the first committing each read to the DuckDB appender before it
    /// acknowledges, as <see cref="DuckDbAppenderAsync"/> writes and the persister commits, its
    /// reads growing from 1,000 to 10,000 entries while they come back full, as the persister's
    /// do; and the gateway's tail, a plain XREAD BLOCK on a connection of its own. The figure is
    /// the rows the appender committed per second over <paramref name="measured"/>, after
    /// <see cref="WarmUp"/> of the same unmeasured; every stage's rate is in its setting.
    /// </summary>
    public static async Task<Figure> ChainedAsync(int port, string persistence, string dir, TimeSpan? measured = null, int maxAhead = ChainMaxAhead)
    {
        var window = measured ?? ChainMeasured;
        var samples = SampleEvents.Create(100_000);
        var entries = Array.ConvertAll(samples, e => e.EntryFields());
        var envelopes = Array.ConvertAll(samples, e => Encoding.UTF8.GetString(e.Envelope));
        const string fileName = "raw-chained.duckdb";
        const string persisterGroup = "chained-persister", secondGroup = "chained-ranker";

        async Task<double[]> RunChainAsync()
        {
            var chain = new ChainBackpressure(4, maxAhead);
            await using var producer = await ConnectAsync(port);
            await using var persisterReader = await ConnectAsync(port);
            await using var groupReader = await ConnectAsync(port);
            var db = producer.GetDatabase();
            await db.StreamCreateConsumerGroupAsync(Stream, persisterGroup, StreamPosition.Beginning, createStream: true);
            await db.StreamCreateConsumerGroupAsync(Stream, secondGroup, StreamPosition.Beginning);
            double[] rates;
            using (var file = DuckDbFile.Open(dir, fileName, EventStore.Schema, "raw limits", PlainDuckDb))
            using (var stop = new CancellationTokenSource())
            {
                // The k-th entry of the stream is the k-th sample (mod their count): one connection keeps the XADDs in order.
                void Commit(StreamEntry[] batch) =>
                    AppendCommitted(file, Array.ConvertAll(batch, e => StreamId.Parse((string)e.Id!)), samples, envelopes, chain.Done(Appending));
                Task[] stages =
                [
                    ProduceAsync(db, entries, chain, stop.Token),
                    Task.Run(() => ReadGroupAsync(persisterReader.GetDatabase(), persisterGroup, chain, Appending, PersisterOptions.BacklogBatchSize, Commit, stop.Token)),
                    Task.Run(() => ReadGroupAsync(groupReader.GetDatabase(), secondGroup, chain, SecondGroup, ReadCount, null, stop.Token)),
                    Task.Run(() => TailAsync(port, chain, stop.Token)),
                ];
                await Task.Delay(WarmUp);
                var before = Enumerable.Range(0, stages.Length).Select(chain.Done).ToArray();
                var clock = Stopwatch.StartNew();
                await Task.Delay(window);
                rates = [.. Enumerable.Range(0, stages.Length).Select(stage => (chain.Done(stage) - before[stage]) / clock.Elapsed.TotalSeconds)];
                await stop.CancelAsync();
                await Task.WhenAll(stages);
            }
            DeleteDuckDbFile(dir, fileName);
            await DeleteStreamAsync(db, chain.Done(Producing));
            return rates;
        }

        var best = new double[4];
        for (var run = 0; run < Runs; run++)
        {
            var rates = await RunChainAsync();
            best = rates[Appending] > best[Appending] ? rates : best;
        }
        return new Figure("chained raw stages",
            Invariant($"at once, {persistence}: XADD of {AverageEnvelopeBytes(samples)} B envelopes, {XaddsInFlight:N0} in flight and at most {maxAhead:N0} ahead of the slowest stage; ")
                + Invariant($"two groups' XREADGROUP + XACK, one committing each read to the DuckDB appender first (1,000 to 10,000 rows per transaction); the gateway's XREAD BLOCK tail; ")
                + Invariant($"{window.TotalSeconds:F0} s after {WarmUp.TotalSeconds:F0} s; stages: XADD {best[Producing]:N0}/s, appender group {best[Appending]:N0}/s, ")
                + Invariant($"second group {best[SecondGroup]:N0}/s, tail {best[Tailing]:N0}/s; best of {Runs}"),
            best[Appending], "events/s", FigureKind.Raw);
    }

    /// <summary>The chain's producer: windows of up to <see cref="XaddsInFlight"/> XADDs, as many as the chain has room for, the samples over and over.</summary>
    private static async Task ProduceAsync(IDatabaseAsync db, NameValueEntry[][] entries, ChainBackpressure chain, CancellationToken stop)
    {
        long next = 0;
        while (!stop.IsCancellationRequested)
        {
            var moved = chain.Moved;
            var room = (int)Math.Min(XaddsInFlight, chain.Room);
            if (room == 0)
            {
                await moved.WaitAsync(stop).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                continue;
            }
            chain.Issued(room);
            var from = next;
            await AddAsync(db, Enumerable.Range(0, room).Select(k => entries[(from + k) % entries.Length]), room);
            next += room;
            chain.Completed(Producing, room);
        }
    }

    /// <summary>
    /// One of the chain's groups: XREADGROUP, then <paramref name="commit"/> when given, then
    /// XACK; reads grow from 1,000 to <paramref name="maxCount"/> entries while they come back full.
    /// </summary>
    private static async Task ReadGroupAsync(IDatabase db, string group, ChainBackpressure chain, int stage, int maxCount,
        Action<StreamEntry[]>? commit, CancellationToken stop)
    {
        var count = ReadCount;
        while (!stop.IsCancellationRequested)
        {
            var moved = chain.Moved;
            var batch = await db.StreamReadGroupAsync(Stream, group, Consumer, StreamPosition.NewMessages, count);
            if (batch.Length == 0)
            {
                await moved.WaitAsync(stop).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                continue;
            }
            commit?.Invoke(batch);
            await AcknowledgeAsync(db, group, batch);
            chain.Completed(stage, batch.Length);
            count = batch.Length == count ? Math.Min(count * 2, maxCount) : ReadCount;
        }
    }

    /// <summary>The chain's tail, read as the gateway reads: its reader (XREAD BLOCK on a connection of its own), 500 entries at most, after the last it read.</summary>
    private static async Task TailAsync(int port, ChainBackpressure chain, CancellationToken stop)
    {
        await using var reader = await BlockingStreamReader.ConnectAsync(Invariant($"127.0.0.1:{port}"), "raw-limits-tail", TimeSpan.FromMilliseconds(100), NullLogger.Instance);
        var last = StreamId.Zero;
        while (!stop.IsCancellationRequested)
        {
            var batch = await reader.ReadAsync(Stream, last, 500);
            if (batch.Length > 0)
            {
                last = StreamId.Parse((string)batch[^1].Id!);
                chain.Completed(Tailing, batch.Length);
            }
        }
    }

    private static Task<ConnectionMultiplexer> ConnectAsync(int port, bool admin = false) =>
        ConnectionMultiplexer.ConnectAsync(Invariant($"127.0.0.1:{port},allowAdmin={admin}"));

    /// <summary>Runs <paramref name="round"/> again and again, untimed, until <see cref="WarmUp"/> has passed.</summary>
    private static async Task WarmUpAsync(Func<Task> round)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < WarmUp)
        {
            await round();
        }
    }

    /// <summary>The highest rate of <see cref="Runs"/> runs of <paramref name="run"/>.</summary>
    private static async Task<double> BestOfRunsAsync(Func<Task<double>> run)
    {
        var best = 0.0;
        for (var i = 0; i < Runs; i++)
        {
            best = Math.Max(best, await run());
        }
        return best;
    }

    /// <summary>Adds the entries to partition 0's stream in windows of <paramref name="inFlight"/> concurrent XADDs; returns how long that took.</summary>
    internal static async Task<TimeSpan> AddAsync(IDatabaseAsync db, IEnumerable<NameValueEntry[]> entries, int inFlight)
    {
        var clock = Stopwatch.StartNew();
        var window = new List<Task>(inFlight);
        foreach (var fields in entries)
        {
            window.Add(db.StreamAddAsync(Stream, fields));
            if (window.Count == inFlight)
            {
                await Task.WhenAll(window);
                window.Clear();
            }
        }
        await Task.WhenAll(window);
        return clock.Elapsed;
    }

    /// <summary>
    /// Fills the stream with the entries, then one consumer reads, optionally parses, and
    /// acknowledges them batch by batch until none is left; returns the drain's rate.
    /// Deletes the stream.
    /// </summary>
    private static async Task<double> FillThenDrainAsync(IDatabaseAsync db, NameValueEntry[][] entries, int batchSize, bool parseEnvelopes)
    {
        await AddAsync(db, entries, XaddsInFlight);
        await db.StreamCreateConsumerGroupAsync(Stream, Group, StreamPosition.Beginning);
        var clock = Stopwatch.StartNew();
        var drained = 0;
        while (true)
        {
            var batch = await db.StreamReadGroupAsync(Stream, Group, Consumer, StreamPosition.NewMessages, batchSize);
            if (batch.Length == 0)
            {
                break;
            }
            if (parseEnvelopes)
            {
                foreach (var entry in batch)
                {
                    // Found by name, as a consumer must: the lookup costs about as much as the scan (~0.4 µs each).
                    ReadEveryToken(entry[StreamFields.Envelope]);
                }
            }
            await AcknowledgeAsync(db, Group, batch);
            drained += batch.Length;
        }
        var rate = drained / clock.Elapsed.TotalSeconds;
        if (drained != entries.Length)
        {
            throw new InvalidOperationException($"The consumer drained {drained} of {entries.Length} entries");
        }
        await DeleteStreamAsync(db, entries.Length);
        return rate;
    }

    private static async Task AcknowledgeAsync(IDatabaseAsync db, string group, StreamEntry[] batch)
    {
        var acknowledged = await db.StreamAcknowledgeAsync(Stream, group, Array.ConvertAll(batch, e => e.Id));
        if (acknowledged != batch.Length)
        {
            throw new InvalidOperationException($"XACK acknowledged {acknowledged} of {batch.Length} entries");
        }
    }

    private static void ReadEveryToken(ReadOnlyMemory<byte> json)
    {
        var reader = new Utf8JsonReader(json.Span);
        while (reader.Read())
        {
            // Read() scans and validates the whole token; the benchmark asks nothing more of it.
        }
    }

    /// <summary>Deletes the stream, after checking that it holds the <paramref name="expected"/> entries the run added.</summary>
    private static async Task DeleteStreamAsync(IDatabaseAsync db, long expected)
    {
        var length = await db.StreamLengthAsync(Stream);
        if (length != expected)
        {
            throw new InvalidOperationException($"{Stream} holds {length} entries, not the {expected} the run added");
        }
        await db.KeyDeleteAsync(Stream);
    }

    /// <summary>The IDs Redis gives entries added in order: the millisecond of their timestamp (never going back), numbered within it.</summary>
    private static StreamId[] StreamIdsOf(SampleEvent[] events)
    {
        var ids = new StreamId[events.Length];
        var last = new StreamId(-1, 0);
        for (var i = 0; i < events.Length; i++)
        {
            var ms = Math.Max(events[i].Ts.ToUnixTimeMilliseconds(), last.Milliseconds);
            last = ids[i] = ms == last.Milliseconds ? last with { Sequence = last.Sequence + 1 } : new StreamId(ms, 0);
        }
        return ids;
    }

    private static int AverageEnvelopeBytes(SampleEvent[] events) => (int)Math.Round(events.Average(e => e.Envelope.Length));

    [GeneratedRegex(@"([0-9.]+) requests per second")]
    private static partial Regex RequestsPerSecond();
}
