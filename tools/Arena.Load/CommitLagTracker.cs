using Arena.Contracts;

namespace Arena.Load;

/// <summary>
/// Ingest → commit lag from the outside. For each accepted batch it remembers when it was
/// accepted and the highest stream ID ingest gave its events; when the persister reports that
/// its run's partition is committed through an ID at or above that one, the batch is visible.
/// The lag at a moment is that moment minus the acceptance time of the oldest accepted batch
/// not yet visible (0 when everything is visible).
/// </summary>
/// <remarks>
/// Batches wait in their run's queue in the order they were accepted, and one leaves only when
/// every batch before it has: a visible batch behind an invisible one is counted visible a
/// little late, but the lag, decided by the older one, is exact. Committed marks never go back.
/// Times are in any unit, the caller's; the tracker only subtracts them.
/// </remarks>
public sealed class CommitLagTracker
{
    private readonly RunState[] _runs;

    public CommitLagTracker(int runs)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(runs, 1);
        _runs = new RunState[runs];
        for (var i = 0; i < runs; i++)
        {
            _runs[i] = new RunState();
        }
    }

    public int Runs => _runs.Length;

    /// <summary>
    /// A batch of <paramref name="events"/> events of run <paramref name="run"/>, the highest of
    /// them <paramref name="highest"/>, was accepted at <paramref name="time"/>.
    /// </summary>
    public void Accepted(int run, int events, StreamId highest, long time)
    {
        var state = _runs[run];
        lock (state)
        {
            state.Accepted += events;
            if (highest <= state.Committed && state.Pending.Count == 0)
            {
                state.Visible += events;
            }
            else
            {
                state.Pending.Enqueue((highest, events, time));
            }
        }
    }

    /// <summary>Every entry of run <paramref name="run"/>'s partition with an ID at or below <paramref name="through"/> is committed.</summary>
    public void Committed(int run, StreamId through)
    {
        var state = _runs[run];
        lock (state)
        {
            if (through > state.Committed)
            {
                state.Committed = through;
            }
            while (state.Pending.TryPeek(out var oldest) && oldest.Highest <= state.Committed)
            {
                state.Pending.Dequeue();
                state.Visible += oldest.Events;
            }
        }
    }

    /// <summary>Acceptance time of the oldest accepted batch not yet visible, or null when all are visible.</summary>
    public long? OldestInvisible()
    {
        long? oldest = null;
        foreach (var state in _runs)
        {
            lock (state)
            {
                if (state.Pending.TryPeek(out var front) && (oldest is null || front.Time < oldest))
                {
                    oldest = front.Time;
                }
            }
        }
        return oldest;
    }

    /// <summary>The lag at <paramref name="now"/>: now minus <see cref="OldestInvisible"/>, or 0.</summary>
    public long LagAt(long now) => OldestInvisible() is { } oldest ? Math.Max(0, now - oldest) : 0;

    public long AcceptedEvents(int run)
    {
        var state = _runs[run];
        lock (state)
        {
            return state.Accepted;
        }
    }

    /// <summary>Events accepted and events visible (committed), over all runs.</summary>
    public (long Accepted, long Visible) Totals()
    {
        long accepted = 0, visible = 0;
        foreach (var state in _runs)
        {
            lock (state)
            {
                accepted += state.Accepted;
                visible += state.Visible;
            }
        }
        return (accepted, visible);
    }

    private sealed class RunState
    {
        public long Accepted;
        public long Visible;
        public StreamId Committed;
        public readonly Queue<(StreamId Highest, int Events, long Time)> Pending = new();
    }
}
