using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Arena.Contracts;
using Arena.Load;
using Arena.Simulator;

namespace Arena.Chaos;

/// <summary>
/// The producers: load lanes (one fixed run each, batches of observations written by the load
/// generator's <see cref="EventBatchWriter"/>) and game lanes (simulated matches, a request per
/// few turns), all paced together at the run's rate. Some accepted batches are re-sent as
/// duplicates, some invalid batches are sent to be rejected. They stop when
/// <paramref name="done"/> says so; a game lane finishes its match first.
/// </summary>
public sealed class Producers(ChaosOptions options, ChaosPlan plan, Ledger ledger, IngestPoster poster, Func<bool> done)
{
    private const int LoadBatch = 100;
    private const int GameRequestEvents = 100;
    private const double DuplicateChance = 0.02;
    private const double RejectChance = 0.005;

    private readonly RateSchedule _schedule = new(options.Rate, 1);
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private long _scheduled;

    public IReadOnlyList<string> LoadRuns { get; } =
        [.. Enumerable.Range(0, ChaosPlan.LoadLanes).Select(i => string.Create(CultureInfo.InvariantCulture, $"chaos-{options.Seed}-load-{i}"))];

    public Task RunAsync(CancellationToken cancellationToken)
    {
        var writer = new EventBatchWriter(LoadRuns, eventBytes: 300, eventIds: true, options.Seed);
        var lanes = plan.LoadLaneSeeds.Select((seed, i) => Task.Run(() => LoadLaneAsync(writer, i, new Random(seed), cancellationToken)))
            .Concat(plan.GameLaneSeeds.Select((seed, i) => Task.Run(() => GameLaneAsync(i, new Random(seed), cancellationToken))));
        return Task.WhenAll(lanes);
    }

    private async Task LoadLaneAsync(EventBatchWriter writer, int lane, Random random, CancellationToken cancellationToken)
    {
        var body = new ArrayBufferWriter<byte>();
        // Each lane re-sends and mangles at least once early on, however short the run.
        var firstDuplicate = random.Next(1, 20);
        var firstRejection = random.Next(1, 20);
        for (long seq = 1, batch = 1; !done(); seq += LoadBatch, batch++)
        {
            await PaceAsync(LoadBatch, cancellationToken);
            body.Clear();
            writer.Write(body, lane, seq, LoadBatch, DateTimeOffset.UtcNow);
            var request = body.WrittenSpan.ToArray();
            await PostAcceptedAsync(request, LoadRuns[lane], cancellationToken);
            if (batch == firstDuplicate || random.NextDouble() < DuplicateChance)
            {
                await ResendAsync(request, cancellationToken);
            }
            if (batch == firstRejection || random.NextDouble() < RejectChance)
            {
                await SendRejectedAsync(LoadRuns[lane], random, cancellationToken);
            }
        }
    }

    private async Task GameLaneAsync(int lane, Random random, CancellationToken cancellationToken)
    {
        var start = DateTimeOffset.UtcNow;
        for (var game = 1; !done(); game++)
        {
            var match = new SimulatedMatch(random, SimulatedMatch.DefaultModels, lane * 100_000 + game, start);
            var pending = new List<Envelope>();
            foreach (var batch in match.Batches())
            {
                pending.AddRange(batch);
                if (pending.Count >= GameRequestEvents || batch[^1].Type == EventTypes.GameEnd)
                {
                    await PaceAsync(pending.Count, cancellationToken);
                    await PostAcceptedAsync(JsonSerializer.SerializeToUtf8Bytes(pending, ArenaJson.Default.ListEnvelope), match.RunId, cancellationToken);
                    pending.Clear();
                }
            }
            Interlocked.Increment(ref ledger.GamesFinished);
        }
    }

    /// <summary>Posts a valid request until a 202 names its events, and records them.</summary>
    public async Task PostAcceptedAsync(byte[] body, string runId, CancellationToken cancellationToken, bool poison = false)
    {
        var results = await poster.PostAsync(body, cancellationToken)
            ?? throw new InvalidOperationException($"ingest rejected a valid request of run {runId}");
        foreach (var result in results)
        {
            ledger.Accept(result.EventId, runId, result.StreamId, poison);
        }
    }

    /// <summary>A producer that re-sends a request it already had accepted: ingest must name the same stream IDs, as duplicates.</summary>
    private async Task ResendAsync(byte[] body, CancellationToken cancellationToken)
    {
        var results = await poster.PostAsync(body, cancellationToken) ?? throw new InvalidOperationException("ingest rejected a re-sent valid request");
        Interlocked.Increment(ref ledger.DuplicateRequests);
        Interlocked.Add(ref ledger.DuplicateEvents, results.Count);
        foreach (var result in results)
        {
            if (!ledger.TryGet(result.EventId, out var original))
            {
                ledger.DuplicateMismatches.Add($"{result.EventId} was never accepted before");
            }
            else if (!result.Duplicate && options.LossIsMeasured)
            {
                // With everysec a Redis crash can lose the original entry together with its remembered id.
                ledger.Replace(original, result.StreamId);
            }
            else if (!result.Duplicate || result.StreamId != original.StreamId)
            {
                ledger.DuplicateMismatches.Add($"{result.EventId}: first {original.StreamId}, re-sent {result.StreamId} (duplicate={result.Duplicate})");
            }
        }
    }

    /// <summary>Three events with recognisable IDs, one of them invalid: the whole request must be turned away.</summary>
    private async Task SendRejectedAsync(string runId, Random random, CancellationToken cancellationToken)
    {
        var id = string.Create(CultureInfo.InvariantCulture, $"chaos-{options.Seed}-rejected-{random.Next():x8}");
        var now = DateTimeOffset.UtcNow;
        List<Envelope> events =
        [
            Envelope.Create(runId, 1, EventTypes.TurnStart, now, new TurnStart(1, "p1"), id + "-0"),
            Envelope.Create(runId, 2, EventTypes.GameEnd, now, new GameEnd([new("p1", "gpt-5", 0), new("p2", "grok-4", 1)]), id + "-1"),
            Envelope.Create(runId, 3, EventTypes.TurnStart, now, new TurnStart(2, "p1"), id + "-2"),
        ];
        var results = await poster.PostAsync(JsonSerializer.SerializeToUtf8Bytes(events, ArenaJson.Default.ListEnvelope), cancellationToken);
        Interlocked.Increment(ref ledger.RejectedRequests);
        if (results is not null)
        {
            Interlocked.Increment(ref ledger.RejectedWrongStatus);
        }
        foreach (var e in events)
        {
            ledger.Rejected.Add(e.EventId!);
        }
    }

    private async Task PaceAsync(int events, CancellationToken cancellationToken)
    {
        var first = Interlocked.Add(ref _scheduled, events) - events;
        var wait = TimeSpan.FromTicks((_schedule.DueTicks(first) - _clock.ElapsedTicks) * TimeSpan.TicksPerSecond / Stopwatch.Frequency);
        if (wait > TimeSpan.Zero)
        {
            await Task.Delay(wait, cancellationToken);
        }
    }
}
