using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using Arena.Bench;
using Arena.Cli;
using Arena.Harness;
using Arena.Ranker.Rating;

// arena-bench [out-dir] [--only a,b]: measured figures, written as Markdown and JSON with the machine they ran on.
// The pipeline's figures need the raw ones.
string[] suites = ["ranker", "runs", "raw", "ingest", "drain", "recovery", "sustained", "sse", "fanout", "cluster"];
var outDirArgument = new Argument<string>("out-dir") { Description = "where results.md and results.json go", DefaultValueFactory = _ => "bench-results" };
var onlyOption = new Option<HashSet<string>?>("--only")
{
    HelpName = "a,b",
    Description = $"only these suites, comma-separated: {string.Join(", ", suites)}",
    CustomParser = result =>
    {
        var chosen = result.Tokens.Single().Value.Split(',').ToHashSet();
        if (chosen.FirstOrDefault(s => !suites.Contains(s)) is { } unknown)
        {
            result.AddError($"--only: unknown suite '{unknown}' (suites: {string.Join(", ", suites)})");
        }
        return chosen;
    },
};
var root = ToolCommand.Root("arena-bench", "Measured figures of the pipeline and the raw limits it is compared with, as Markdown and JSON.",
    typeof(Figure).Assembly);
root.Arguments.Add(outDirArgument);
root.Options.Add(onlyOption);
root.SetAction(parse => BenchAsync(parse.GetValue(outDirArgument)!, parse.GetValue(onlyOption)));
return await ToolCommand.InvokeAsync(root, args, Console.Out, Console.Error);

async Task<int> BenchAsync(string outDir, HashSet<string>? only)
{
    bool Runs(string suite) => only is null || only.Contains(suite);
    Directory.CreateDirectory(outDir);
    var machine = $"{Environment.ProcessorCount} cores, {GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / (1L << 30)} GiB, {RuntimeInformation.OSDescription.Trim()}, .NET {Environment.Version}";
    Console.WriteLine($"machine: {machine}");
    var total = Stopwatch.StartNew();

    var results = new List<Figure>();
    void Add(Figure figure)
    {
        results.Add(figure);
        Console.WriteLine($"  {figure}");
    }

    if (Runs("ranker"))
    {
        // Ranker: one full fit of 100,000 games among 50 models, with 100 bootstrap rounds.
        var random = new Random(1);
        var strength = Enumerable.Range(0, 50).ToDictionary(i => $"model-{i:D2}", i => random.NextDouble() * 600);
        var models = strength.Keys.ToArray();
        var games = new List<Game>(100_000);
        for (var g = 0; g < 100_000; g++)
        {
            var players = random.NextDouble() < 0.6 ? 2 : random.Next(3, 9);
            var seated = models.OrderBy(_ => random.Next()).Take(players)
                .OrderByDescending(m => strength[m] + 170 * -Math.Log(-Math.Log(Math.Clamp(random.NextDouble(), 1e-12, 1 - 1e-12))))
                .Select((m, i) => new Placement(m, i + 1)).ToList();
            games.Add(new Game($"run-{g:D6}", "end", (0, g, 0), seated));
        }
        Console.WriteLine("ranker:");
        Leaderboard.Compute(games.Take(1000), 2, 42); // warm-up
        var clock = Stopwatch.StartNew();
        Leaderboard.Compute(games, 100, 42);
        Add(new Figure("ranker recompute", "100,000 games × 50 models × 100 bootstrap rounds", clock.Elapsed.TotalSeconds, "s", FigureKind.Pipeline));
    }

    if (Runs("runs"))
    {
        foreach (var (events, runs) in new[] { (1_000_000, 1_000), (10_000_000, 10_000) })
        {
            Console.WriteLine($"history API ({events:N0} events over {runs:N0} runs stored beforehand, {HistoryBenchmarks.Calls} calls each):");
            var history = await HistoryBenchmarks.MeasureAsync(events, runs);
            var filled = string.Create(CultureInfo.InvariantCulture, $"{events:N0} events over {runs:N0} runs (filled in {history.Fill.TotalSeconds:F0} s)");
            Add(new Figure("GET /v1/runs p50", filled, history.Runs.P50Ms, "ms", FigureKind.Pipeline));
            Add(new Figure("GET /v1/runs p99", filled, history.Runs.P99Ms, "ms", FigureKind.Pipeline, Goal(history.Runs.P99Ms < 5, "< 5 ms")));
            Add(new Figure("run history page p50", $"{filled}; limit=1000 of a run's events", history.History.P50Ms, "ms", FigureKind.Pipeline));
            Add(new Figure("run history page p99", $"{filled}; limit=1000 of a run's events", history.History.P99Ms, "ms", FigureKind.Pipeline));
            Add(new Figure("persister start-up summary", $"{filled}; opening the file and grouping every event, in process", history.Summary.TotalSeconds, "s", FigureKind.Pipeline));
            Add(new Figure("persister start to ready", $"{filled}; process start until /readyz answers", history.StartUp.TotalSeconds, "s", FigureKind.Pipeline));
        }
    }

    // Raw limits: what the machine does with the plain technique; the pipeline's figures are ratios of these.
    // The ranker and the history API are measured on their own, without them.
    var raw = only is null || only.Except(["ranker", "runs"]).Any() ? await MeasureRawLimitsAsync() : null;
    if (raw is not null)
    {
        results.AddRange(raw.All);
        double? ingest100 = null;
        if (Runs("ingest"))
        {
            Console.WriteLine("ingest throughput (ingest alone on Redis with AOF appendfsync always, flat out):");
            foreach (var batch in new[] { 1, 10, 100, 1000 })
            {
                var run = await PipelineBenchmarks.IngestThroughputAsync(batch);
                ingest100 = batch == 100 ? run.Rate : ingest100;
                Add(new Figure("ingest throughput", $"batches of {batch}", run.Rate, "events/s", FigureKind.Pipeline,
                    Ratio(run.Rate, raw.ClientXaddAlways, batch switch { 100 => 0.5, 10 => 0.25, _ => null }) + "; " + Ratio(run.Rate, raw.ClientXadd, null)));
                if (batch is 10 or 100)
                {
                    AddCosts(run, $"batches of {batch}", raw, batch == 100);
                }
            }
            // A cap far below what the run adds: every script call trims, and counts what it cuts as overflow (no persister group exists).
            var capped = await PipelineBenchmarks.IngestThroughputAsync(100, new Dictionary<string, string> { ["Ingest__MaxStreamLength"] = "10000" }, atCap: true);
            Add(new Figure("ingest throughput at the hard cap", "batches of 100, every append over a cap of 10,000 entries", capped.Rate, "events/s", FigureKind.Pipeline,
                string.Create(CultureInfo.InvariantCulture, $"{capped.Rate / ingest100!.Value:P0} of ingest below the cap; ") + Goal(capped.Rate >= 0.8 * ingest100.Value, "≥ 80%")));
            AddCosts(capped, "batches of 100 at the hard cap", raw, false);
        }
        double? drain = null;
        if (Runs("drain"))
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"persister drain ({ConsumerBenchmarks.DrainEntries:N0} entries filled beforehand):"));
            drain = await ConsumerBenchmarks.PersisterDrainAsync(ConsumerBenchmarks.DrainEntries);
            // The persister's transactions grow to 10,000 rows while it drains: held to the appender at that size, with the 1,000-row one beside it.
            Add(new Figure("persister drain", string.Create(CultureInfo.InvariantCulture, $"{ConsumerBenchmarks.DrainEntries:N0} entries in the stream beforehand"), drain.Value, "events/s", FigureKind.Pipeline,
                Ratio(drain.Value, raw.AppenderLargeTransactions with { Name = "the DuckDB appender at 10,000 rows per transaction" }, 0.8)
                + "; " + Ratio(drain.Value, raw.Appender with { Name = "the same at 1,000" }, null)));
        }
        if (Runs("recovery"))
        {
            Console.WriteLine("recovery (a restarted persister and 100,000 entries it held pending):");
            var (recovery, startUp) = await ConsumerBenchmarks.RecoveryAsync(100_000);
            // Held to the time as many entries take at this run's drain rate, when the drain ran too.
            Add(new Figure("recovery", string.Create(CultureInfo.InvariantCulture, $"restart to 100,000 pending entries committed; the process answered /readyz after {startUp:F2} s"), recovery, "s", FigureKind.Pipeline,
                drain is { } rate ? AgainstDrain(recovery, 100_000, rate, 2) : null));
        }
        if (Runs("sustained"))
        {
            Console.WriteLine("sustained end to end (all services; the highest rate with ingest → commit lag under 1 s for 60 s):");
            var sustained = await PipelineBenchmarks.SustainedAsync(start: Math.Max(1000, 0.5 * Math.Min(raw.Chained.Value, ingest100 ?? raw.ClientXadd.Value)));
            // Held to the raw stages of an event run at once on the same cores, with the appender alone beside it.
            Add(new Figure("sustained end to end", $"batches of 100 over 10 runs; max lag {sustained.MaxLagMs:F0} ms, p99 {sustained.P99LagMs:F0} ms; {sustained.Stream}",
                sustained.Rate, "events/s", FigureKind.Pipeline,
                Ratio(sustained.Rate, raw.Chained, 0.5) + "; " + Goal(sustained.Stream.ByTrimming, "stream held by trimming, never by the hard cap")
                + "; " + Ratio(sustained.Rate, raw.Appender, null)));
            foreach (var (service, bytes) in sustained.PeakRss)
            {
                Add(new Figure("peak RSS", $"{service}, after the sustained run", bytes / 1048576.0, "MiB", FigureKind.Pipeline));
            }
        }
        if (Runs("sse"))
        {
            Console.WriteLine("ingest → SSE latency (1,000 events/s in batches of 10 over 100 runs, clients spread over the runs):");
            foreach (var clients in new[] { 1, 100, 1000 })
            {
                var (sse, request) = await PipelineBenchmarks.SseLatencyAsync(clients);
                var setting = $"{clients:N0} client(s), {sse.Delivered:N0} deliveries";
                Add(new Figure("ingest → SSE p50", setting, sse.Latency.P50Ms, "ms", FigureKind.Pipeline));
                Add(new Figure("ingest → SSE p99", setting, sse.Latency.P99Ms, "ms", FigureKind.Pipeline,
                    string.Create(CultureInfo.InvariantCulture, $"{sse.Latency.P99Ms / raw.DurableXaddP99.Value:F1}× the {raw.DurableXaddP99.Name} ({raw.DurableXaddP99.FormatValue()})")
                    + (clients == 1000 ? "; " + Goal(sse.Latency.P99Ms <= 10, "≤ 10 ms") : "")));
                Add(new Figure("ingest → SSE p99.9", setting, sse.Latency.P999Ms, "ms", FigureKind.Pipeline));
                Add(new Figure("ingest request p99, same run", setting, request.P99Ms, "ms", FigureKind.Pipeline,
                    string.Create(CultureInfo.InvariantCulture, $"p50 {request.P50Ms:F1} ms: the write's own answer, after the same fsync")));
            }
        }
        if (Runs("fanout"))
        {
            Console.WriteLine("SSE fan-out (every client on one run):");
            foreach (var (clients, rate) in new[] { (1000, 200.0), (5000, 100.0), (5000, 250.0) })
            {
                var (sse, gatewayUs, clientsUs) = await PipelineBenchmarks.FanOutAsync(clients, rate);
                var setting = $"{clients:N0} clients on one run of {rate:F0} events/s";
                Add(new Figure("SSE fan-out", $"{setting}; {sse.Reconnects} reconnects, p99 {sse.Latency.P99Ms:F0} ms",
                    sse.DeliveriesPerSecond, "deliveries/s", FigureKind.Pipeline,
                    clients == 5000 && rate >= 250 ? Goal(sse.DeliveriesPerSecond >= 1_000_000, "≥ 1,000,000/s") : null));
                // The bound: at these costs, a million deliveries a second needs this many cores for the gateway and its clients.
                Add(new Figure("SSE fan-out CPU per delivery, gateway / clients", setting, gatewayUs, "µs", FigureKind.Pipeline,
                    string.Create(CultureInfo.InvariantCulture,
                        $"clients {clientsUs:F2} µs; 1,000,000 deliveries/s would take {gatewayUs + clientsUs:F1} cores of {Environment.ProcessorCount}")));
            }
        }
        if (Runs("cluster"))
        {
            Console.WriteLine("Redis Cluster (3 masters + 3 replicas, each answer confirmed by a replica unless said; ingest flat out, persister draining):");
            foreach (var (partitions, wait) in new[] { (1, true), (2, true), (4, true), (4, false) })
            {
                var cluster = await PipelineBenchmarks.ClusterAsync(partitions, wait);
                var failed = cluster.Failed > 0 ? $", {cluster.Failed:N0} failed requests" : "";
                var replicas = wait ? "" : ", no replica confirmation";
                Add(new Figure("cluster ingest", $"{partitions} partition(s), batches of 100{replicas}{failed}", cluster.Ingest, "events/s", FigureKind.Pipeline,
                    Ratio(cluster.Ingest, raw.ClientXadd, null)));
                if (!wait)
                {
                    continue;
                }
                Add(new Figure("cluster end to end", $"{partitions} partition(s): accepted ÷ time to the last commit", cluster.EndToEnd, "events/s", FigureKind.Pipeline,
                    Ratio(cluster.EndToEnd, raw.Appender, null)));
            }
        }
    }

    var markdown = new System.Text.StringBuilder().AppendLine($"Machine: {machine}; `make bench` took {total.Elapsed.TotalMinutes:F1} min.");
    foreach (var group in results.GroupBy(r => r.Kind))
    {
        markdown.AppendLine();
        if (FigureKind.Heading(group.Key) is { } heading)
        {
            markdown.AppendLine($"## {heading}").AppendLine();
        }
        markdown.AppendLine("| benchmark | setting | result | against the limit |").AppendLine("|---|---|---|---|");
        foreach (var figure in group)
        {
            markdown.AppendLine($"| {figure.Name} | {figure.Setting} | {figure.FormatValue()} | {figure.Comparison} |");
        }
    }
    File.WriteAllText(Path.Combine(outDir, "results.md"), markdown.ToString());
    File.WriteAllText(Path.Combine(outDir, "results.json"), JsonSerializer.Serialize(new { machine, results },
        new JsonSerializerOptions { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower }));
    Console.WriteLine($"written: {outDir}/results.md, {outDir}/results.json ({total.Elapsed.TotalMinutes:F1} min)");

    // What each accepted event of an ingest run cost: ingest's CPU and allocations, Redis's time in the commands ingest sent.
    void AddCosts(PipelineBenchmarks.IngestRun run, string setting, RawLimitFigures limits, bool goals)
    {
        var bareXadd = limits.XaddRedisCpu;
        Add(new Figure("ingest CPU per event", string.Create(CultureInfo.InvariantCulture,
                $"{setting}; ingest process, user + system, after {run.WarmUp.TotalSeconds:F0} s of warm-up; {run.MeasuredJit.TotalMilliseconds:F0} ms of JIT in the measured 10 s"),
            run.IngestCpuUs, "µs", FigureKind.Pipeline,
            goals ? Goal(run.IngestCpuUs <= 10, "≤ 10 µs") : null));
        Add(new Figure("ingest allocated per event", setting + "; managed heap", run.IngestAllocatedBytes, "bytes", FigureKind.Pipeline,
            goals ? Goal(run.IngestAllocatedBytes <= 1024, "≤ 1 KB") : null));
        Add(new Figure("Redis CPU per event", $"{setting}; commandstats of the commands ingest sends: {run.RedisBreakdown}", run.RedisCommandUs, "µs", FigureKind.Pipeline,
            string.Create(CultureInfo.InvariantCulture, $"{run.RedisCommandUs / bareXadd.Value:F1}× a bare XADD ({bareXadd.FormatValue()}); a script's arguments alone {limits.ScriptArgumentsRedisCpu.FormatValue()}, a script of XADDs alone {limits.ScriptXaddRedisCpu.FormatValue()}, ingest's script idle {limits.AppendScriptRedisCpu.FormatValue()}; whole redis-server process {run.RedisProcessCpuUs:F1} µs")
                + (goals ? "; " + Goal(run.RedisCommandUs <= 6, "≤ 6 µs") : "")));
    }
    return ToolCommand.Ok;
}

static string Ratio(double value, Figure limit, double? goal)
{
    var ratio = value / limit.Value;
    var text = string.Create(CultureInfo.InvariantCulture, $"{ratio:P0} of {limit.Name} ({limit.FormatValue()})");
    return goal is { } g ? $"{text}; {Goal(ratio >= g, string.Create(CultureInfo.InvariantCulture, $"≥ {g:P0}"))}" : text;
}

// Seconds taken for some entries as a multiple of the time they take at the drain rate, held to at most goal times that.
static string AgainstDrain(double seconds, int entries, double drainRate, double goal)
{
    var drainSeconds = entries / drainRate;
    var ratio = seconds / drainSeconds;
    return string.Create(CultureInfo.InvariantCulture, $"{ratio:F2}× the time of {entries:N0} entries at the drain rate ({drainSeconds:F2} s); ")
        + Goal(ratio <= goal, string.Create(CultureInfo.InvariantCulture, $"≤ {goal}×"));
}

static string Goal(bool met, string goal) => $"goal {goal}: {(met ? "met" : "**missed**")}";

// On a redis-server and in a temp folder of their own, both removed afterwards.
static async Task<RawLimitFigures> MeasureRawLimitsAsync()
{
    var dir = Directory.CreateTempSubdirectory("arena-bench-").FullName;
    try
    {
        await using var redis = await RedisProcess.StartAsync("no-aof");
        await using var always = await RedisProcess.StartAsync("always");
        Console.WriteLine($"raw limits (redis-server on 127.0.0.1:{redis.Port}, with AOF appendfsync always on {always.Port}, DuckDB in {dir}):");
        return await RawLimits.MeasureAllAsync(redis.Port, always.Port, dir, figure => Console.WriteLine($"  {figure}"));
    }
    finally
    {
        Directory.Delete(dir, recursive: true);
    }
}
