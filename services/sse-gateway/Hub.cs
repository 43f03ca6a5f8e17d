using Arena.Contracts;

namespace Arena.SseGateway;

/// <summary>
/// Fans the tail of each partition out to every subscriber. Subscribing returns the last ID
/// already dispatched on the partition: everything after it reaches the subscriber, so a
/// client that first sends history up to that ID and then the buffered live events misses
/// nothing and repeats nothing. A client of one run is found through its run, so an event
/// costs only its own run's clients; filters over every event are few (all runs, the leaderboard).
/// </summary>
public sealed class Hub
{
    private readonly Lock _gate = new();
    private readonly List<Subscriber> _filtered = [];
    private readonly Dictionary<string, List<Subscriber>> _byRun = new(StringComparer.Ordinal);
    private int _count;
    private readonly Dictionary<int, StreamId> _dispatched = [];
    private readonly Dictionary<int, TaskCompletionSource> _started = [];

    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _count;
            }
        }
    }

    /// <summary>A client of every event that <paramref name="wants"/> accepts, in any run.</summary>
    /// <param name="client">False for the gateway's own reader of events (the leaderboard feed): not counted as a connected client.</param>
    public (Subscriber Subscriber, StreamId DispatchedUpTo) Subscribe(int partition, Func<LiveEvent, bool> wants, int capacity, bool client = true) =>
        Add(partition, new Subscriber(wants, capacity) { IsClient = client });

    /// <summary>A client of one run's events.</summary>
    public (Subscriber Subscriber, StreamId DispatchedUpTo) Subscribe(int partition, string runId, int capacity) =>
        Add(partition, new Subscriber(wants: null, capacity, runId));

    private (Subscriber, StreamId) Add(int partition, Subscriber subscriber)
    {
        lock (_gate)
        {
            if (subscriber.RunId is not { } run)
            {
                _filtered.Add(subscriber);
            }
            else if (_byRun.TryGetValue(run, out var clients))
            {
                clients.Add(subscriber);
            }
            else
            {
                _byRun[run] = [subscriber];
            }
            _count += subscriber.IsClient ? 1 : 0;
            return (subscriber, _dispatched.GetValueOrDefault(partition));
        }
    }

    public void Unsubscribe(Subscriber subscriber)
    {
        lock (_gate)
        {
            var list = subscriber.RunId is { } run ? _byRun[run] : _filtered;
            list.Remove(subscriber);
            _count -= subscriber.IsClient ? 1 : 0;
            if (list.Count == 0 && subscriber.RunId is not null)
            {
                _byRun.Remove(subscriber.RunId);
            }
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
                if (_byRun.TryGetValue(e.RunId, out var clients))
                {
                    foreach (var subscriber in clients)
                    {
                        subscriber.Offer(e);
                    }
                }
                foreach (var subscriber in _filtered)
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
