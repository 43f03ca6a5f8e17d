using Microsoft.Extensions.Options;

namespace Arena.Persister;

/// <summary>
/// Where the history API's DuckDB reads run: at most <see cref="PersisterOptions.MaxConcurrentReads"/>
/// at once, each on a thread of its own, because DuckDB.NET blocks its caller and a request
/// thread blocked on a long scan starves every other request of a two-core pool. A request's
/// first read is refused (<see cref="ReadsRefusedException"/>) while
/// <see cref="PersisterOptions.MaxQueuedReads"/> reads already wait; the later reads of a
/// request under way always wait their turn, so that a response once started is finished.
/// </summary>
public sealed class HistoryReads(IOptions<PersisterOptions> options, PersisterMetrics metrics) : IDisposable
{
    private readonly SemaphoreSlim _slots = new(options.Value.MaxConcurrentReads, options.Value.MaxConcurrentReads);
    private readonly int _maxQueued = options.Value.MaxQueuedReads;
    private int _queued;

    /// <summary>The first read of a request: refused when the queue is full.</summary>
    public Task<T> FirstAsync<T>(Func<T> read, CancellationToken cancellationToken) => RunAsync(read, refusable: true, cancellationToken);

    /// <summary>A later read of a request whose response has started: waits however long the queue.</summary>
    public Task<T> NextAsync<T>(Func<T> read, CancellationToken cancellationToken) => RunAsync(read, refusable: false, cancellationToken);

    private async Task<T> RunAsync<T>(Func<T> read, bool refusable, CancellationToken cancellationToken)
    {
        if (!_slots.Wait(0))
        {
            await QueueAsync(refusable, cancellationToken);
        }
        metrics.ReadsInFlight.Add(1);
        try
        {
            return await Task.Factory.StartNew(read, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        }
        finally
        {
            metrics.ReadsInFlight.Add(-1);
            _slots.Release();
        }
    }

    private async Task QueueAsync(bool refusable, CancellationToken cancellationToken)
    {
        if (Interlocked.Increment(ref _queued) > _maxQueued && refusable)
        {
            Interlocked.Decrement(ref _queued);
            metrics.ReadsRefused.Add(1);
            throw new ReadsRefusedException();
        }
        metrics.ReadsQueued.Add(1);
        try
        {
            await _slots.WaitAsync(cancellationToken);
        }
        finally
        {
            metrics.ReadsQueued.Add(-1);
            Interlocked.Decrement(ref _queued);
        }
    }

    public void Dispose() => _slots.Dispose();
}

/// <summary>The read queue was full; the request is answered 503 with <c>Retry-After</c>.</summary>
public sealed class ReadsRefusedException() : Exception("History reads are queued to their limit");
