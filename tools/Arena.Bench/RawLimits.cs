using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Arena.Contracts;
using Arena.Persister.Storage;
using Arena.Storage;
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
    Figure XaddRedisCpu,
    Figure ReadGroupAck,
    Figure ReadGroupAckWithoutParsing,
    Figure ReadGroupAckWithoutParsingAlways,
    Figure Appender,
    Figure AppenderLargeTransactions)
{
    public IReadOnlyList<Figure> All =>
        [ServerXadd, ClientXadd, ClientXaddAlways, XaddRedisCpu, ReadGroupAck, ReadGroupAckWithoutParsing, ReadGroupAckWithoutParsingAlways, Appender, AppenderLargeTransactions];
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
            await Reported(XaddRedisCpuAsync(redisPort)),
            await Reported(ReadGroupAckAsync(redisPort, NoPersistence)),
            await Reported(ReadGroupAckAsync(redisPort, NoPersistence, parseEnvelopes: false)),
            await Reported(ReadGroupAckAsync(alwaysPort, AppendFsyncAlways, parseEnvelopes: false)),
            await Reported(DuckDbAppenderAsync(dir)),
            await Reported(DuckDbAppenderAsync(dir, rowsPerTransaction: 10_000)));
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

    /// <summary>
    /// The DuckDB appender writing <paramref name="count"/> rows into a new file table shaped
    /// like the persister's (primary key included), <paramref name="rowsPerTransaction"/> rows
    /// per appender and transaction, as the persister commits a batch; automatic checkpoints
    /// included, the one at closing not.
    /// </summary>
    public static async Task<Figure> DuckDbAppenderAsync(string dir, int rowsPerTransaction = 1_000, int count = 300_000)
    {
        var samples = SampleEvents.Create(count);
        var ids = StreamIdsOf(samples);
        var envelopes = Array.ConvertAll(samples, e => Encoding.UTF8.GetString(e.Envelope));
        var fileName = Invariant($"raw-appender-{rowsPerTransaction}.duckdb");

        double AppendToNewFile()
        {
            var clock = new Stopwatch();
            using (var file = DuckDbFile.Open(dir, fileName, EventStore.Schema, "raw limits"))
            {
                clock.Start();
                for (var first = 0; first < count; first += rowsPerTransaction)
                {
                    using var transaction = file.Writer.BeginTransaction();
                    using (var appender = file.Writer.CreateAppender("events"))
                    {
                        for (var i = first; i < Math.Min(first + rowsPerTransaction, count); i++)
                        {
                            var e = samples[i];
                            appender.CreateRow()
                                .AppendValue(0)
                                .AppendValue(ids[i].Milliseconds)
                                .AppendValue(ids[i].Sequence)
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
                clock.Stop();
            }
            File.Delete(Path.Combine(dir, fileName));
            File.Delete(Path.Combine(dir, fileName + ".wal"));
            return count / clock.Elapsed.TotalSeconds;
        }

        return new Figure("DuckDB appender",
            Invariant($"{count:N0} rows of {AverageEnvelopeBytes(samples)} B envelopes into a file table with the persister's key, {rowsPerTransaction:N0} rows per transaction, best of {Runs}"),
            await BestOfRunsAsync(() => Task.Run(AppendToNewFile)), "rows/s", FigureKind.Raw);
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
    internal static async Task<TimeSpan> AddAsync(IDatabaseAsync db, NameValueEntry[][] entries, int inFlight)
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
            var acknowledged = await db.StreamAcknowledgeAsync(Stream, Group, Array.ConvertAll(batch, e => e.Id));
            if (acknowledged != batch.Length)
            {
                throw new InvalidOperationException($"XACK acknowledged {acknowledged} of {batch.Length} entries");
            }
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
