using Arena.Contracts;

namespace Arena.SseGateway;

/// <summary>
/// Fans the tail of each partition out to every subscriber. Subscribing returns the last ID
/// already dispatched on the partition: everything after it reaches the subscriber, so a
/// client that first sends history up to that ID and then the buffered live events misses
/// nothing and repeats nothing.
/// </summary>
public sealed class Hub
{
    private readonly Lock _gate = new();
    private readonly List<Subscriber> _subscribers = [];
    private readonly Dictionary<int, StreamId> _dispatched = [];
    private readonly Dictionary<int, TaskCompletionSource> _started = [];

    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _subscribers.Count;
            }
        }
    }

    public (Subscriber Subscriber, StreamId DispatchedUpTo) Subscribe(int partition, Func<LiveEvent, bool> wants, int capacity)
    {
        var subscriber = new Subscriber(wants, capacity);
        lock (_gate)
        {
            _subscribers.Add(subscriber);
            return (subscriber, _dispatched.GetValueOrDefault(partition));
        }
    }

    public void Unsubscribe(Subscriber subscriber)
    {
        lock (_gate)
        {
            _subscribers.Remove(subscriber);
        }
    }

    /// <summary>The tail starts here: nothing at or before <paramref name="id"/> will be dispatched.</summary>
    public void Start(int partition, StreamId id)
    {
        TaskCompletionSource started;
        lock (_gate)
        {
            _dispatched[partition] = id;
            started = StartedSignal(partition);
        }
        started.TrySetResult();
    }

    public bool IsStarted(int partition)
    {
        lock (_gate)
        {
            return _dispatched.ContainsKey(partition);
        }
    }

    /// <summary>Waits up to <paramref name="timeout"/> for the tail to join the partition; false if it has not.</summary>
    public async Task<bool> WaitStartedAsync(int partition, TimeSpan timeout, CancellationToken cancellation)
    {
        Task started;
        lock (_gate)
        {
            started = StartedSignal(partition).Task;
        }
        try
        {
            await started.WaitAsync(timeout, cancellation);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    private TaskCompletionSource StartedSignal(int partition)
    {
        if (!_started.TryGetValue(partition, out var signal))
        {
            signal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _started[partition] = signal;
        }
        return signal;
    }

    public void Dispatch(int partition, IReadOnlyList<LiveEvent> events)
    {
        lock (_gate)
        {
            foreach (var e in events)
            {
                foreach (var subscriber in _subscribers)
                {
                    if (subscriber.Wants(e))
                    {
                        subscriber.Offer(e);
                    }
                }
            }
            _dispatched[partition] = events[^1].Id;
        }
    }
}
