namespace Arena.Load;

/// <summary>
/// Ingest → commit lag from the outside. For each accepted batch it remembers when it was
/// accepted and how many events of its run had been accepted up to then; when the persister
/// shows <c>n</c> events of a run, every batch whose running count is at most <c>n</c> is
/// visible. The lag at a moment is that moment minus the acceptance time of the oldest
/// accepted event not yet visible (0 when everything is visible).
/// </summary>
/// <remarks>
/// Counts stand in for identities: a run's events are committed in stream order, and a batch
/// is accepted only after its events have stream IDs, so the first <c>n</c> of a run in
/// stream order are the ones counted. (A request still in flight may hold stream IDs below
/// an accepted one; then "visible" is decided a little early for that run.)
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

    /// <summary>A batch of <paramref name="events"/> events of run <paramref name="run"/> was accepted at <paramref name="time"/>.</summary>
    public void Accepted(int run, int events, long time)
    {
        var state = _runs[run];
        lock (state)
        {
            state.Accepted += events;
            if (state.Accepted > state.Visible)
            {
                state.Pending.Enqueue((state.Accepted, time));
            }
        }
    }

    /// <summary>The persister shows <paramref name="events"/> events of run <paramref name="run"/> (counts never go back).</summary>
    public void Visible(int run, long events)
    {
        var state = _runs[run];
        lock (state)
        {
            state.Visible = Math.Max(state.Visible, events);
            while (state.Pending.TryPeek(out var oldest) && oldest.Cumulative <= state.Visible)
            {
                state.Pending.Dequeue();
            }
        }
    }

    /// <summary>Acceptance time of the oldest accepted event not yet visible, or null when all are visible.</summary>
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

    /// <summary>Acceptance time of run <paramref name="run"/>'s oldest accepted event not yet visible, or null.</summary>
    public long? OldestInvisible(int run)
    {
        var state = _runs[run];
        lock (state)
        {
            return state.Pending.TryPeek(out var front) ? front.Time : null;
        }
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

    public long VisibleEvents(int run)
    {
        var state = _runs[run];
        lock (state)
        {
            return state.Visible;
        }
    }

    /// <summary>Events accepted and (capped at that) seen in the persister, over all runs.</summary>
    public (long Accepted, long Visible) Totals()
    {
        long accepted = 0, visible = 0;
        foreach (var state in _runs)
        {
            lock (state)
            {
                accepted += state.Accepted;
                visible += Math.Min(state.Visible, state.Accepted);
            }
        }
        return (accepted, visible);
    }

    private sealed class RunState
    {
        public long Accepted;
        public long Visible;
        public readonly Queue<(long Cumulative, long Time)> Pending = new();
    }
}
