using System.Globalization;
using System.Text.RegularExpressions;
using Arena.Contracts;
using Arena.Harness;
using Arena.Ingest;
using Arena.Load;
using StackExchange.Redis;

namespace Arena.Bench;

/// <summary>The pipeline's own figures: each scenario starts a fresh Redis (AOF, fsync always) and the services it needs.</summary>
internal static class PipelineBenchmarks
{
    private static readonly TimeSpan Measure = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Ingest alone on Redis, flat out: accepted events/s, and what each accepted event cost
    /// ingest (CPU, bytes allocated) and Redis (<c>INFO commandstats</c>, the whole server's CPU)
    /// over the measured run.
    /// </summary>
    public sealed record IngestRun(double Rate, double IngestCpuUs, double IngestAllocatedBytes, double RedisCommandUs, double RedisProcessCpuUs, string RedisBreakdown,
        TimeSpan WarmUp, TimeSpan MeasuredJit);

    /// <summary>
    /// Ingest is driven in slices of this length until its JIT compiler is done with the hot path
    /// (tiered compilation recompiles hot methods for seconds after start-up, on the same 2 cores).
    /// </summary>
    private static readonly TimeSpan WarmUpSlice = TimeSpan.FromSeconds(2);

    /// <summary>
    /// On 2 shared cores tiered compilation with dynamic PGO goes on for 30–50 s of flat-out load
    /// (0.5–0.8 s of JIT in a 10 s window after 30 s), which is not the steady state a
    /// long-running ingest is in.
    /// </summary>
    private static readonly TimeSpan MaxWarmUp = TimeSpan.FromSeconds(60);

    /// <summary>Commands ingest sends itself; the commands its scripts call are inside the scripts' time.</summary>
    private static readonly string[] IngestCommands = ["evalsha", "eval", "publish", "wait", "role"];

    /// <param name="atCap">The settings hold the stream at a hard cap, which the measured run is to work at from its start.</param>
    public static async Task<IngestRun> IngestThroughputAsync(int batch, IDictionary<string, string>? settings = null, bool atCap = false)
    {
        await using var redis = await RedisProcess.StartAsync();
        await using var ingest = await ServiceProcess.StartAsync("ingest", redis, settings);
        var connections = batch == 1 ? 64 : 16;
        // Warm: until two slices in a row spend under 1% of their time in the JIT (steady state;
        // one quiet slice was often followed by another burst of recompilation), or MaxWarmUp.
        var warmUp = TimeSpan.Zero;
        var quiet = 0;
        while (warmUp < MaxWarmUp && quiet < 2)
        {
            var sliceStart = await ProcessCounters.ReadAsync(ingest);
            await RunAsync(new LoadOptions { IngestUrl = ingest.Url, Batch = batch, Connections = connections, Duration = WarmUpSlice });
            warmUp += WarmUpSlice;
            quiet = (await ProcessCounters.ReadAsync(ingest) - sliceStart).Jit < WarmUpSlice / 100 ? quiet + 1 : 0;
        }

        if (!atCap)
        {
            // Measured from an empty stream: with no persister to trim it, the warm-up alone can
            // bring it near the hard cap (1,000,000 entries by default), and this figure is ingest below it.
            // The ingest runs here have one partition.
            await redis.Client.GetDatabase().StreamTrimAsync(StreamKeys.Events(0), 0);
        }

        var server = redis.Client.GetServers()[0];
        await RedisCommandStats.ResetAsync(server);
        var redisCpu = await RedisCpuAsync(server);
        var before = await ProcessCounters.ReadAsync(ingest);
        var result = await RunAsync(new LoadOptions { IngestUrl = ingest.Url, Batch = batch, Connections = connections, Duration = Measure });
        var used = await ProcessCounters.ReadAsync(ingest) - before;
        redisCpu = await RedisCpuAsync(server) - redisCpu;
        var stats = await RedisCommandStats.ReadAsync(server);

        var events = result.EventsAccepted;
        return new IngestRun(result.AcceptedPerSecond, used.Cpu.TotalMicroseconds / events, used.AllocatedBytes / events,
            stats.UsecPer(events, IngestCommands), redisCpu.TotalMicroseconds / events, stats.Breakdown(events), warmUp, used.Jit);
    }

    /// <summary>The redis-server process's CPU time so far (<c>INFO cpu</c>, user and system).</summary>
    private static async Task<TimeSpan> RedisCpuAsync(StackExchange.Redis.IServer server)
    {
        var cpu = (await server.InfoAsync("cpu")).SelectMany(g => g).ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);
        return TimeSpan.FromSeconds(double.Parse(cpu["used_cpu_user"], CultureInfo.InvariantCulture) + double.Parse(cpu["used_cpu_sys"], CultureInfo.InvariantCulture));
    }

    public sealed record ClusterThroughput(double Ingest, double EndToEnd, long Failed);

    /// <summary>
    /// Ingest flat out for 10 s on a six-node Redis Cluster with <paramref name="partitions"/>
    /// partitions (every answer waits for a replica, unless <paramref name="waitForReplicas"/> is false), the persister draining; end to end is
    /// the accepted events over the time from the first request until the persister has
    /// committed the last.
    /// </summary>
    public static async Task<ClusterThroughput> ClusterAsync(int partitions, bool waitForReplicas = true)
    {
        await using var cluster = await RedisCluster.StartAsync();
        var settings = new Dictionary<string, string>
        {
            ["Arena__Partitions"] = partitions.ToString(CultureInfo.InvariantCulture),
            ["Ingest__WaitForReplicas"] = waitForReplicas ? "auto" : "0",
        };
        await using var persister = await ServiceProcess.StartAsync("persister", cluster, settings);
        await using var ingest = await ServiceProcess.StartAsync("ingest", cluster, settings);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var result = await RunAsync(new LoadOptions { IngestUrl = ingest.Url, Batch = 100, Runs = 16, Connections = 16, Duration = Measure });
        await Wait.UntilAsync(async () => await CommittedAsync(persister.Http) >= result.EventsAccepted,
            "the persister to commit every accepted event", TimeSpan.FromMinutes(5));
        return new ClusterThroughput(result.AcceptedPerSecond, result.EventsAccepted / clock.Elapsed.TotalSeconds, result.FailedRequests);
    }

    private static async Task<long> CommittedAsync(HttpClient persister)
    {
        using var runs = System.Text.Json.JsonDocument.Parse(await persister.GetStringAsync("/v1/runs?limit=1000"));
        return runs.RootElement.GetProperty("runs").EnumerateArray()
            .Where(r => r.GetProperty("run_id").GetString() != Arena.Contracts.PipelineRun.Id)
            .Sum(r => r.GetProperty("events").GetInt64());
    }

    public sealed record Sustained(double Rate, double MaxLagMs, double P99LagMs, IReadOnlyDictionary<string, long> PeakRss, StreamHold Stream);

    /// <summary>
    /// What held the stream during a run: its peak length and size (sampled every
    /// <see cref="StreamSampling"/>) against ingest's hard caps; the entries trimming removed (the
    /// persister's count), the entries the hard caps removed (what Redis added less what the
    /// stream grew by and trimming removed) and how many of those a group had not yet committed
    /// (ingest's overflow count).
    /// </summary>
    public sealed record StreamHold(long PeakEntries, long PeakBytes, long Trimmed, long CapRemoved, long Lost, long CapEntries, long CapBytes)
    {
        public bool ByTrimming => CapRemoved == 0 && Lost == 0 && PeakEntries < CapEntries && PeakBytes < CapBytes;

        public override string ToString() => string.Create(CultureInfo.InvariantCulture,
            $"stream peak {PeakEntries:N0} entries, {PeakBytes / 1048576.0:F0} MiB (hard caps {CapEntries:N0}, {CapBytes / 1048576.0:F0} MiB); trimming removed {Trimmed:N0}, the hard cap {CapRemoved:N0} ({Lost:N0} not yet committed)");
    }

    /// <summary>A stream's counts at one moment: entries ever added (<c>XINFO STREAM</c>), its length, and what trimming and the caps' overflow have counted.</summary>
    private sealed record StreamCounts(long Added, long Length, long Trimmed, long Lost)
    {
        public static StreamCounts operator -(StreamCounts a, StreamCounts b) => new(a.Added - b.Added, a.Length - b.Length, a.Trimmed - b.Trimmed, a.Lost - b.Lost);

        public long CapRemoved => Added - Length - Trimmed;
    }

    private static readonly TimeSpan StreamSampling = TimeSpan.FromMilliseconds(250);

    /// <summary>
    /// The highest rate at which ingest → commit lag stays under 1 s for a whole minute, all
    /// four services running. 15 s probes from <paramref name="start"/>: up by a quarter while
    /// they hold, or down by a fifth until one holds (six at most); then the best rate is held
    /// for 60 s, stepping down a fifth when it does not hold (three tries at most).
    /// </summary>
    public static async Task<Sustained> SustainedAsync(double start)
    {
        await using var pipeline = await Pipeline.StartAsync();
        double? best = null;
        var rate = start;
        for (var probe = 0; probe < 6; probe++)
        {
            var (held, _) = await TryAsync(pipeline, rate, TimeSpan.FromSeconds(15));
            if (held is not null)
            {
                best = rate;
            }
            else if (best is not null)
            {
                break;
            }
            rate = held is not null ? rate * 1.25 : rate * 0.8;
        }
        rate = best ?? rate;
        StreamHold? stream = null;
        for (var attempt = 0; attempt < 3; attempt++, rate *= 0.8)
        {
            (var minute, stream) = await TryAsync(pipeline, rate, TimeSpan.FromSeconds(60));
            if (minute is not null)
            {
                return new Sustained(rate, minute.MaxLagMs, minute.P99LagMs, pipeline.PeakRss(), stream);
            }
        }
        return new Sustained(0, double.NaN, double.NaN, pipeline.PeakRss(), stream!);
    }

    /// <summary>The run's commit lag when it held the rate with lag under 1 s throughout, else null; and what held the stream meanwhile.</summary>
    private static async Task<(CommitLagResult? Held, StreamHold Stream)> TryAsync(Pipeline pipeline, double rate, TimeSpan duration)
    {
        // Read while no load runs, so nothing is added between the counts.
        var before = await pipeline.StreamCountsAsync();
        long peakEntries = 0, peakBytes = 0;
        using var stop = new CancellationTokenSource();
        var sampling = Task.Run(async () =>
        {
            using var timer = new PeriodicTimer(StreamSampling);
            try
            {
                do
                {
                    var (entries, bytes) = await pipeline.StreamSizeAsync();
                    (peakEntries, peakBytes) = (Math.Max(peakEntries, entries), Math.Max(peakBytes, bytes));
                }
                while (await timer.WaitForNextTickAsync(stop.Token));
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                // The run is over.
            }
        });
        var result = await pipeline.LoadAsync(rate, duration);
        await stop.CancelAsync();
        await sampling;
        var counts = await pipeline.StreamCountsAsync() - before;
        var caps = new IngestOptions();
        var stream = new StreamHold(peakEntries, peakBytes, counts.Trimmed, counts.CapRemoved, counts.Lost, caps.MaxStreamLength, caps.MaxStreamBytes);
        var held = Holds(result, rate);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  {rate:F0}/s for {duration.TotalSeconds:F0} s: accepted {result.AcceptedPerSecond:F0}/s, max lag {result.Persister!.MaxLagMs:F0} ms, {(held ? "held" : "not held")}; {stream}"));
        return (held ? result.Persister : null, stream);
    }

    private static bool Holds(LoadResult result, double rate) =>
        result.Persister is { UnderThreshold: true, CaughtUp: true } && result.AcceptedPerSecond >= rate * 0.97 && result.FailedRequests == 0;

    /// <summary>
    /// Ingest → SSE latency with <paramref name="clients"/> viewers spread over 100 runs, at
    /// 1,000 events/s posted in batches of 10 (a harness posts a turn's few events at once).
    /// </summary>
    /// <remarks>
    /// The same run's ingest request latency is returned beside it: an entry reaches readers in
    /// the same Redis reply cycle that answers its writer, after the same <c>appendfsync always</c>
    /// write, so the request's own tail is a floor under the delivery's.
    /// <para>
    /// The same load runs for <see cref="SseWarmUp"/> first, unmeasured: freshly started services
    /// spend their first seconds in the JIT compiler, on the same 2 cores, and that would be the tail.
    /// </para>
    /// </remarks>
    public static async Task<(SseResult Sse, LatencySummary Request)> SseLatencyAsync(int clients)
    {
        await using var pipeline = await Pipeline.StartAsync();
        var load = pipeline.Options(1000, Measure) with { Batch = 10, Runs = 100, SseClients = clients, SseSpread = true };
        await RunAsync(load with { Duration = SseWarmUp });
        var result = await RunAsync(load);
        return (result.Sse!, result.RequestLatency);
    }

    private static readonly TimeSpan SseWarmUp = TimeSpan.FromSeconds(10);

    /// <summary>A fan-out run and the CPU each delivery cost the gateway and the clients (this process: the load generator and its SSE readers).</summary>
    public sealed record FanOut(SseResult Sse, double GatewayCpuUs, double ClientsCpuUs);

    /// <summary>Deliveries/s when <paramref name="clients"/> watch one run that receives <paramref name="rate"/> events/s.</summary>
    public static async Task<FanOut> FanOutAsync(int clients, double rate)
    {
        await using var pipeline = await Pipeline.StartAsync();
        var gateway = pipeline["sse-gateway"];
        var (gatewayBefore, clientsBefore) = (gateway.CpuTime(), Environment.CpuUsage.TotalTime);
        var sse = (await RunAsync(pipeline.Options(rate, Measure) with { Runs = 1, Batch = 10, SseClients = clients })).Sse!;
        var (gatewayCpu, clientsCpu) = (gateway.CpuTime() - gatewayBefore, Environment.CpuUsage.TotalTime - clientsBefore);
        var delivered = Math.Max(1, sse.Delivered);
        return new FanOut(sse, gatewayCpu.TotalMicroseconds / delivered, clientsCpu.TotalMicroseconds / delivered);
    }

    private static async Task<LoadResult> RunAsync(LoadOptions options)
    {
        var result = await new LoadRun(options with
        {
            Progress = p => Progress.Show(string.Create(CultureInfo.InvariantCulture,
                $"{p.Phase} {p.ElapsedSeconds:F0} s: {p.EventsAccepted:N0} accepted, {p.AcceptedPerSecond:F0}/s, lag {p.CommitLagMs:F0} ms")),
        }).RunAsync();
        Progress.Clear();
        return result;
    }

    /// <summary>Redis and the four services, wired as <c>make run</c> wires them.</summary>
    private sealed class Pipeline : IAsyncDisposable
    {
        private readonly RedisProcess _redis;
        private readonly List<ServiceProcess> _services;

        private Pipeline(RedisProcess redis, List<ServiceProcess> services) => (_redis, _services) = (redis, services);

        public ServiceProcess this[string name] => _services.Single(s => s.Name == name);

        public static async Task<Pipeline> StartAsync()
        {
            var redis = await RedisProcess.StartAsync();
            var persister = await ServiceProcess.StartAsync("persister", redis);
            var ranker = await ServiceProcess.StartAsync("ranker", redis);
            var gateway = await ServiceProcess.StartAsync("sse-gateway", redis, new Dictionary<string, string>
            {
                ["SseGateway__PersisterUrl"] = persister.Url.ToString(),
                ["SseGateway__RankerUrl"] = ranker.Url.ToString(),
            });
            var ingest = await ServiceProcess.StartAsync("ingest", redis);
            return new Pipeline(redis, [persister, ranker, gateway, ingest]);
        }

        public LoadOptions Options(double rate, TimeSpan duration) => new()
        {
            IngestUrl = this["ingest"].Url,
            SseUrl = this["sse-gateway"].Url,
            Rate = rate,
            Duration = duration,
            Batch = 100,
            Runs = 10,
            Connections = 8,
        };

        public Task<LoadResult> LoadAsync(double rate, TimeSpan duration) =>
            RunAsync(Options(rate, duration) with { PersisterUrl = this["persister"].Url });

        public IReadOnlyDictionary<string, long> PeakRss() => _services.ToDictionary(s => s.Name, s => s.PeakRssBytes());

        /// <summary>The stream's length and its size as the byte cap counts it (the pipeline runs one partition).</summary>
        public async Task<(long Entries, long Bytes)> StreamSizeAsync()
        {
            var db = _redis.Client.GetDatabase();
            var (length, size) = (db.StreamLengthAsync(StreamKeys.Events(0)), db.StringGetAsync(StreamKeys.Size(0)));
            return (await length, (long?)await size ?? 0);
        }

        public async Task<StreamCounts> StreamCountsAsync()
        {
            var db = _redis.Client.GetDatabase();
            var info = (RedisResult[])(await db.ExecuteAsync("XINFO", "STREAM", StreamKeys.Events(0)))!;
            var added = Enumerable.Range(0, info.Length / 2).Where(i => (string?)info[2 * i] == "entries-added").Select(i => (long)info[2 * i + 1]).Single();
            return new StreamCounts(added, await db.StreamLengthAsync(StreamKeys.Events(0)),
                await CounterAsync(this["persister"], "arena_stream_trimmed_total"), await CounterAsync(this["ingest"], "arena_stream_overflow_lost_total"));
        }

        /// <summary>A counter from a service's <c>/metrics</c>, summed over its labels.</summary>
        private static async Task<long> CounterAsync(ServiceProcess service, string name)
        {
            var lines = Regex.Matches(await service.Http.GetStringAsync("/metrics"), $@"^{name}(?:\{{[^}}]*\}})? ([0-9.eE+]+)", RegexOptions.Multiline);
            return lines.Count > 0
                ? lines.Sum(line => (long)double.Parse(line.Groups[1].Value, CultureInfo.InvariantCulture))
                : throw new InvalidOperationException($"{service.Name}'s /metrics has no {name}");
        }

        public async ValueTask DisposeAsync()
        {
            foreach (var service in _services)
            {
                await service.DisposeAsync();
            }
            await _redis.DisposeAsync();
        }
    }
}
