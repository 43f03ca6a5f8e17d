using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using Arena.Harness;

namespace Arena.Chaos;

/// <summary>The outcome of a run: the verdict table and the figures.</summary>
public sealed record ChaosResult(IReadOnlyList<Check> Checks, ChaosFigures Figures)
{
    public bool Passed => Checks.All(c => c.Passed);
}

/// <summary>
/// One chaos run: the pipeline as real processes, producers and SSE clients while the plan's
/// faults land, then the drain, a fresh ranker's recompute, and the checks.
/// </summary>
public sealed class ChaosRun(ChaosOptions options)
{
    private static readonly TimeSpan DrainTimeout = TimeSpan.FromMinutes(5);

    private readonly Stopwatch _clock = new();
    private string _phase = "start";

    public async Task<ChaosResult> RunAsync(CancellationToken cancellationToken)
    {
        _clock.Start();
        var plan = ChaosPlan.Create(options);
        var ledger = new Ledger();
        await using var pipeline = await ChaosPipeline.StartIngestAsync(options.AppendFsync);
        var throughput = options.ThroughputSeconds > 0
            ? await ThroughputProbe.MeasureAsync(pipeline, options, cancellationToken)
            : new Dictionary<string, double>();
        await pipeline.StartConsumersAsync(options);

        using var poster = new IngestPoster(pipeline[Services.Ingest].Url, ledger);
        FaultInjector? faults = null;
        Task? injecting = null;
        var producingFor = new Stopwatch();
        var producers = new Producers(options, plan, ledger, poster,
            () => (options.Soak ? producingFor.Elapsed.TotalMinutes >= options.Minutes : ledger.Accepted >= options.Events) && (faults!.Done || injecting!.IsFaulted));
        using var poison = new PoisonWriter(options, pipeline, ledger, producers);
        faults = new FaultInjector(plan, pipeline, ledger, poison);
        using var hostile = options.Soak ? new HostileClients(options, pipeline, producers) : null;
        var memory = options.Soak ? new MemorySampler(pipeline) : null;

        using var sseHttp = new HttpClient { Timeout = Timeout.InfiniteTimeSpan };
        var watchers = plan.SseSeeds.Select((seed, i) =>
            new SseWatcher(sseHttp, pipeline[Services.Gateway].Url, producers.LoadRuns[i % producers.LoadRuns.Count], new Random(seed))).ToList();
        using var stopWatchers = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var watching = watchers.Select(w => Task.Run(() => w.RunAsync(stopWatchers.Token))).ToList();
        using var stopProgress = new CancellationTokenSource();
        var progress = ReportProgressAsync(ledger, faults, poison, plan, stopProgress.Token);

        _phase = options.Soak ? "soak" : "chaos";
        var serverErrorsBefore = options.Soak ? await ServiceMetrics.ServerErrorsAsync(pipeline) : [];
        producingFor.Start();
        using (var chaos = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            injecting = StopAllOnFailureAsync(faults.RunAsync(chaos.Token), chaos);
            var producing = StopAllOnFailureAsync(producers.RunAsync(chaos.Token), chaos);
            var poisoning = StopAllOnFailureAsync(poison.RunAsync(() => !producing.IsCompleted, chaos.Token), chaos);
            var hostiling = StopAllOnFailureAsync(hostile?.RunAsync(() => !producing.IsCompleted) ?? Task.CompletedTask, chaos);
            var sampling = StopAllOnFailureAsync(memory?.RunAsync(() => !producing.IsCompleted) ?? Task.CompletedTask, chaos);
            await WhenAllAsync(producing, injecting, poisoning, hostiling, sampling);
        }

        _phase = "drain";
        var unplanned = await DrainAsync(pipeline);
        _phase = "sse";
        await WaitForWatchersAsync(watchers, ledger);
        await stopWatchers.CancelAsync();
        await Task.WhenAll(watching);

        _phase = "recompute";
        var leaderboard = await LeaderboardAsync(pipeline[Services.Ranker], ledger.GamesFinished);
        // A soak's stream is trimmed as it runs: no fresh ranker could read it whole.
        JsonElement? recomputed = null;
        if (!options.Soak)
        {
            await using (var fresh = await pipeline.StartFreshRankerAsync())
            {
                recomputed = await LeaderboardAsync(fresh, ledger.GamesFinished);
                await WaitCaughtUpAsync(pipeline, ChaosPipeline.RecomputeGroup);
            }
            // The fresh ranker announced its fits on the stream: let every group read them too.
            await WaitCaughtUpAsync(pipeline);
        }
        unplanned.AddRange(pipeline.Exited());

        _phase = "check";
        var groups = await ConsumerGroups.ReadAsync(pipeline.Db);
        var deadLetters = await PipelineState.ReadDeadLettersAsync(pipeline.Db);
        var deadLettersDropped = await PipelineState.ReadDeadLettersDroppedAsync(pipeline.Db);
        var streamIds = await PipelineState.ReadStreamEventIdsAsync(pipeline.Db);
        var soak = hostile is null ? null : new SoakEvidence(memory!.Samples, hostile, HostileClients.ConnectionsPerClient(options),
            await ServiceMetrics.ServerErrorsAsync(pipeline, serverErrorsBefore), await ServiceMetrics.RefusedPerClientAsync(pipeline[Services.Gateway]));
        var finalExits = await pipeline.StopAsync();
        pipeline.WriteLogs(Path.Combine(options.Out, "logs"));
        var stored = PersisterFile.Read(pipeline[Services.Persister].DataDir);
        await stopProgress.CancelAsync();
        await progress;

        var evidence = new Evidence(options, ledger, faults, poison.GameEnds, stored, deadLetters, deadLettersDropped, streamIds, groups, leaderboard, recomputed, watchers, unplanned,
            finalExits, soak);
        var checks = ChaosChecks.All(evidence, out var losses, out var duplicated);
        return new ChaosResult(checks, Figures(ledger, faults, poison, watchers, losses, duplicated, throughput, soak));
    }

    // A failed producer or fault leaves the other waiting for events that never come: stop both.
    private static async Task StopAllOnFailureAsync(Task task, CancellationTokenSource chaos)
    {
        try
        {
            await task;
        }
        catch
        {
            await chaos.CancelAsync();
            throw;
        }
    }

    /// <summary>Awaits all; when one failed, throws the failure that was not a consequence of stopping.</summary>
    private static async Task WhenAllAsync(params Task[] tasks)
    {
        try
        {
            await Task.WhenAll(tasks);
        }
        catch (Exception) when (tasks.Select(t => t.Exception?.InnerException).FirstOrDefault(e => e is not null and not OperationCanceledException) is { } cause)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(cause);
        }
    }

    /// <summary>Waits until the persister and the ranker have read and acknowledged everything; restarts a service that died on its own.</summary>
    private static async Task<List<string>> DrainAsync(ChaosPipeline pipeline)
    {
        var unplanned = new List<string>();
        await Wait.UntilAsync(async () =>
        {
            foreach (var name in pipeline.Exited().ToList())
            {
                unplanned.Add(name);
                await pipeline[name].RestartAsync(TimeSpan.FromSeconds(90));
            }
            var groups = (await ConsumerGroups.ReadAsync(pipeline.Db)).Where(g => g.Name is "persister" or "ranker").ToList();
            return groups.All(g => g.CaughtUp);
        }, "the persister and the ranker to catch up", DrainTimeout);
        return unplanned;
    }

    private static Task WaitCaughtUpAsync(ChaosPipeline pipeline, string? group = null) =>
        Wait.UntilAsync(async () => (await ConsumerGroups.ReadAsync(pipeline.Db)).Where(g => group is null || g.Name == group).All(g => g.CaughtUp),
            $"{group ?? "every group"} to catch up", DrainTimeout);

    /// <summary>Each SSE client has received its run's last accepted event.</summary>
    private static async Task WaitForWatchersAsync(List<SseWatcher> watchers, Ledger ledger)
    {
        var last = ledger.AcceptedEvents.GroupBy(a => a.RunId).ToDictionary(g => g.Key, g => g.Max(a => a.StreamId));
        try
        {
            await Wait.UntilAsync(() => Task.FromResult(watchers.All(w => w.LastId >= last[w.RunId])),
                "every SSE client to receive its run's last event", TimeSpan.FromMinutes(2));
        }
        catch (TimeoutException)
        {
            // The SSE check reports which client is short and by how much.
        }
    }

    /// <summary>
    /// The ranker's leaderboard once it counts every finished game; after two minutes, the last
    /// one it served (the leaderboard check then says what differs).
    /// </summary>
    private static async Task<JsonElement> LeaderboardAsync(ServiceProcess ranker, long games)
    {
        JsonElement? board = null;
        try
        {
            await Wait.UntilAsync(async () =>
            {
                using var response = await ranker.Http.GetAsync("/v1/leaderboard");
                if (!response.IsSuccessStatusCode)
                {
                    return false;
                }
                using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
                board = document.RootElement.Clone();
                return board.Value.GetProperty("games").GetInt64() == games;
            }, $"the leaderboard to count {games} games", TimeSpan.FromMinutes(2));
        }
        catch (TimeoutException) when (board is not null)
        {
        }
        return board ?? throw new TimeoutException("the ranker served no leaderboard");
    }

    /// <summary>A line a second on stderr while it is a terminal; redirected output gets the memory samples and the verdict alone.</summary>
    private async Task ReportProgressAsync(Ledger ledger, FaultInjector faults, PoisonWriter poison, ChaosPlan plan, CancellationToken stop)
    {
        if (Console.IsErrorRedirected)
        {
            return;
        }
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        var previous = 0L;
        try
        {
            while (await timer.WaitForNextTickAsync(stop))
            {
                var accepted = ledger.Accepted;
                Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"[{_clock.Elapsed.TotalSeconds,5:F0}s] {_phase,-9} accepted {accepted,9:N0} ({accepted - previous,6:N0}/s)  kills {faults.Kills.Values.Sum(),3}  sigterms {faults.Sigterms.Values.Sum(),2}  redis restarts {faults.RedisKills.Count,2}  poison {poison.Total,5}  steps {faults.Taken}/{plan.Steps.Count}  retries {ledger.Retries}"));
                previous = accepted;
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private ChaosFigures Figures(Ledger ledger, FaultInjector faults, PoisonWriter poison, List<SseWatcher> watchers, Losses losses, long duplicated,
        IReadOnlyDictionary<string, double> throughput, SoakEvidence? soak)
    {
        return new ChaosFigures
        {
            Seed = options.Seed,
            AppendFsync = options.AppendFsync,
            Machine = string.Create(CultureInfo.InvariantCulture,
                $"{Environment.ProcessorCount} cores, {GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / (1L << 30)} GiB, {RuntimeInformation.OSDescription.Trim()}, .NET {Environment.Version}"),
            DurationSeconds = Math.Round(_clock.Elapsed.TotalSeconds, 1),
            EventsAccepted = ledger.Accepted,
            GamesFinished = ledger.GamesFinished,
            Requests = ledger.Requests,
            RequestRetries = ledger.Retries,
            DuplicateRequests = ledger.DuplicateRequests,
            DuplicateEvents = ledger.DuplicateEvents,
            RejectedRequests = ledger.RejectedRequests,
            RejectedEvents = ledger.Rejected.Count,
            PoisonRaw = ledger.RawPoison.Count,
            PoisonGameEnds = poison.GameEnds,
            PoisonPercent = Math.Round(100.0 * poison.Total / (ledger.Accepted + ledger.RawPoison.Count), 3),
            Kills = new SortedDictionary<string, int>(faults.Kills),
            ConsumerKills = faults.Kills.GetValueOrDefault(Services.Persister) + faults.Kills.GetValueOrDefault(Services.Ranker),
            Sigterms = new SortedDictionary<string, int>(faults.Sigterms),
            RedisRestarts = faults.RedisKills.Count,
            Lost = losses.Count,
            LostPerRedisKill = losses.PerKill(faults.RedisKills),
            Duplicated = duplicated,
            SseClients = watchers.Count,
            SseEventsReceived = watchers.Sum(w => (long)w.Received.Count),
            SseDrops = watchers.Sum(w => w.Drops),
            SseBreaks = watchers.SelectMany(w => w.Breaks).GroupBy(b => b.Key).ToDictionary(g => g.Key, g => g.Sum(b => b.Value)),
            IngestThroughput = throughput,
            Soak = soak is null ? null : new SoakFigures
            {
                Minutes = options.Minutes,
                Answers = soak.Hostile.Answers.OrderBy(a => a.Key.Kind, StringComparer.Ordinal).ThenBy(a => a.Key.Answer, StringComparer.Ordinal)
                    .Select(a => new HostileAnswer(a.Key.Kind, a.Key.Answer, a.Value)).ToList(),
                SseFloodMostHeld = soak.Hostile.MostHeld,
                SseConnectionsPerClient = soak.ConnectionsPerClient,
                ServerErrors = soak.ServerErrors,
                Memory = soak.Trends,
                MemorySamples = soak.Memory,
            },
            Replay = "make chaos CHAOS_ARGS=\"" + options.ReplayArguments() + "\"",
        };
    }
}
