namespace Arena.Bench;

/// <summary>
/// The counts of a chain of stages run at once: stage 0 produces, the others each take what it
/// produced. The producer may issue at most <paramref name="limit"/> entries beyond what the
/// slowest stage has done (its own completions included), so the chain's rate is the one that
/// flows through every stage, not a backlog growing in front of the slowest.
/// </summary>
internal sealed class ChainBackpressure(int stages, long limit)
{
    private readonly long[] _done = new long[stages];
    private long _issued;
    private TaskCompletionSource _moved = NewSignal();

    /// <summary>
    /// Completes at the first change of any count after it was read: read it before looking at
    /// <see cref="Room"/> or at a stage's input, then wait on it when there is nothing to do.
    /// </summary>
    public Task Moved => Volatile.Read(ref _moved).Task;

    /// <summary>How many more entries the producer may issue now.</summary>
    public long Room
    {
        get
        {
            var slowest = long.MaxValue;
            for (var stage = 0; stage < _done.Length; stage++)
            {
                slowest = Math.Min(slowest, Done(stage));
            }
            return Math.Max(0, slowest + limit - Interlocked.Read(ref _issued));
        }
    }

    public long Done(int stage) => Interlocked.Read(ref _done[stage]);

    /// <summary>The producer has sent <paramref name="count"/> more, not yet completed.</summary>
    public void Issued(long count)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, Room);
        Interlocked.Add(ref _issued, count);
    }

    /// <summary>A stage (0: the producer) has done <paramref name="count"/> more.</summary>
    public void Completed(int stage, long count)
    {
        if (Done(stage) + count > Interlocked.Read(ref _issued))
        {
            throw new InvalidOperationException($"Stage {stage} would have done {Done(stage) + count} entries of {Interlocked.Read(ref _issued)} issued");
        }
        Interlocked.Add(ref _done[stage], count);
        Interlocked.Exchange(ref _moved, NewSignal()).TrySetResult();
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
