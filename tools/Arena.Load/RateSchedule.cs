using System.Diagnostics;

namespace Arena.Load;

/// <summary>
/// When each request is due, as an absolute offset from the start of the run: batch
/// <c>i</c> carries events <c>i·batch … i·batch + batch − 1</c>, and event <c>k</c> is due at
/// <c>k / rate</c> seconds. Every due time is computed from the start, never from the previous
/// send, so late wake-ups do not accumulate: a sender that wakes late sends at once, and the
/// rate over the run stays exact.
/// </summary>
public sealed class RateSchedule
{
    private readonly double _ticksPerBatch;

    /// <param name="eventsPerSecond">Target rate; <c>null</c> for flat out (every batch is due at once).</param>
    /// <param name="batchSize">Events per request.</param>
    /// <param name="ticksPerSecond">Units of the returned offsets; <see cref="Stopwatch.Frequency"/> by default.</param>
    public RateSchedule(double? eventsPerSecond, int batchSize, long ticksPerSecond = 0)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        if (eventsPerSecond is { } rate && !(rate > 0 && double.IsFinite(rate)))
        {
            throw new ArgumentOutOfRangeException(nameof(eventsPerSecond), "must be a positive number");
        }
        TicksPerSecond = ticksPerSecond > 0 ? ticksPerSecond : Stopwatch.Frequency;
        EventsPerSecond = eventsPerSecond;
        _ticksPerBatch = eventsPerSecond is { } r ? batchSize * (double)TicksPerSecond / r : 0;
    }

    public double? EventsPerSecond { get; }
    public bool IsPaced => EventsPerSecond is not null;
    public long TicksPerSecond { get; }

    /// <summary>Offset from the start, in ticks, at which batch <paramref name="index"/> is due (0 when not paced).</summary>
    public long DueTicks(long index) => (long)Math.Round(index * _ticksPerBatch);
}

/// <summary>One request's worth of events: <see cref="Count"/> events of run <see cref="Run"/>, seqs from <see cref="FirstSeq"/>.</summary>
public readonly record struct BatchSlot(long Index, int Run, long FirstSeq, int Count);

/// <summary>
/// Which events batch <c>i</c> carries. Batches go round-robin over the runs (batch <c>i</c>
/// to run <c>i mod runs</c>), so each run's seqs are contiguous from 1 and increase with
/// the batch index; only the very last batch may be short.
/// </summary>
public sealed class BatchPlan
{
    public BatchPlan(int batchSize, int runs, long? totalEvents)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(runs, 1);
        if (totalEvents is < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(totalEvents), "must be at least 1");
        }
        BatchSize = batchSize;
        Runs = runs;
        TotalEvents = totalEvents;
    }

    public int BatchSize { get; }
    public int Runs { get; }
    public long? TotalEvents { get; }

    /// <summary>Batch <paramref name="index"/>, or false once every event has been handed out.</summary>
    public bool TryGet(long index, out BatchSlot slot)
    {
        var first = index * BatchSize;
        var count = TotalEvents is { } total ? (int)Math.Min(BatchSize, total - first) : BatchSize;
        if (index < 0 || count <= 0)
        {
            slot = default;
            return false;
        }
        var run = (int)(index % Runs);
        var nth = index / Runs;
        slot = new BatchSlot(index, run, nth * BatchSize + 1, count);
        return true;
    }
}
