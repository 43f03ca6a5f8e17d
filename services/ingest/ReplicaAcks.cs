using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Arena.Ingest;

/// <summary>Events were written to their master but not confirmed by enough replicas in time.</summary>
public sealed class ReplicaWaitException(string message) : Exception(message);

/// <summary>
/// A write's place among the <c>WAIT</c>s of its master: taken once the write is on its way,
/// so any <c>WAIT</c> sent after it covers the write.
/// </summary>
public readonly record struct ReplicaTicket(object? Waiter, long WaitsSent, RedisKey Key);

/// <summary>
/// Holds an answer back until replicas have the write (<c>WAIT</c>), so a master that dies
/// right after answering cannot take an accepted event with it. <c>WAIT</c> counts every
/// write sent before it on its connection, and the multiplexer has one connection per
/// server, so one <c>WAIT</c> per master serves every request whose write went out before
/// it, as a group commit: at most one is in flight per master, and a request whose write
/// went out after it joins the next.
/// </summary>
public sealed class ReplicaAcks
{
    private static readonly TimeSpan AutoRefresh = TimeSpan.FromSeconds(10);

    private readonly IConnectionMultiplexer _redis;
    private readonly IngestOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<ReplicaAcks> _logger;
    private readonly ConcurrentDictionary<EndPoint, Waiter> _waiters = new();
    private readonly SemaphoreSlim _refresh = new(1, 1);
    private int _required;
    private DateTimeOffset _refreshedAt = DateTimeOffset.MinValue;

    public ReplicaAcks(IConnectionMultiplexer redis, IOptions<IngestOptions> options, TimeProvider time, ILogger<ReplicaAcks> logger)
    {
        _redis = redis;
        _options = options.Value;
        _time = time;
        _logger = logger;
        _required = _options.WaitForReplicas == IngestOptions.Auto ? 0 : int.Parse(_options.WaitForReplicas, CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// Call right after sending a write to <paramref name="key"/> (before its reply). Empty
    /// while no replica is awaited: on a lone Redis the hot path does nothing more.
    /// </summary>
    public ReplicaTicket Ticket(RedisKey key) =>
        Volatile.Read(ref _required) == 0 ? new ReplicaTicket(null, 0, key) : TicketNow(key);

    /// <summary>
    /// Returns once the ticket's write is held by the required replicas; throws
    /// <see cref="ReplicaWaitException"/> when too few confirm in time.
    /// </summary>
    public async Task ConfirmAsync(ReplicaTicket ticket)
    {
        var required = await RequiredAsync();
        if (required == 0)
        {
            return;
        }
        // An empty ticket (replicas found since the write went out): the write has been answered,
        // so any WAIT sent from now on covers it.
        if (ticket.Waiter is null)
        {
            ticket = TicketNow(ticket.Key);
        }
        if (ticket.Waiter is not Waiter waiter)
        {
            throw new ReplicaWaitException($"no master is known for {ticket.Key}");
        }
        var confirmed = await waiter.AfterAsync(ticket.WaitsSent, required);
        if (confirmed < required)
        {
            throw new ReplicaWaitException(string.Create(CultureInfo.InvariantCulture,
                $"{confirmed} of {required} replica(s) of {waiter.Server.EndPoint} confirmed the write within {_options.ReplicaTimeout.TotalMilliseconds:0} ms"));
        }
    }

    private ReplicaTicket TicketNow(RedisKey key)
    {
        // Chosen from the client's own slot map, as the write was: no round trip.
        IServer master;
        try
        {
            master = _redis.GetServer(key);
        }
        catch (Exception e) when (e is RedisException or InvalidOperationException)
        {
            // No master is reachable now; the write fails too, or the confirmation does.
            return new ReplicaTicket(null, 0, key);
        }
        var waiter = _waiters.GetOrAdd(master.EndPoint, _ => new Waiter(master, (long)Math.Max(1, _options.ReplicaTimeout.TotalMilliseconds)));
        return new ReplicaTicket(waiter, waiter.WaitsSent, key);
    }

    /// <summary>The replicas to wait for: the configured number, or with "auto" 1 while any master has a replica.</summary>
    private async ValueTask<int> RequiredAsync()
    {
        if (_options.WaitForReplicas != IngestOptions.Auto || !Stale())
        {
            return Volatile.Read(ref _required);
        }
        // Until the first answer, every request waits for it: none may skip a replica that exists.
        var first = _refreshedAt == DateTimeOffset.MinValue;
        if (!await _refresh.WaitAsync(first ? Timeout.Infinite : 0))
        {
            return Volatile.Read(ref _required);
        }
        try
        {
            if (Stale())
            {
                await RefreshAsync();
            }
        }
        finally
        {
            _refresh.Release();
        }
        return Volatile.Read(ref _required);
    }

    private bool Stale() => _time.GetUtcNow() - _refreshedAt >= AutoRefresh;

    private async Task RefreshAsync()
    {
        try
        {
            var masters = _redis.GetServers().Where(s => s.IsConnected && !s.IsReplica).ToList();
            var roles = await Task.WhenAll(masters.Select(s => s.RoleAsync()));
            var required = roles.Any(r => r is Role.Master { Replicas.Count: > 0 }) ? 1 : 0;
            if (required != Interlocked.Exchange(ref _required, required))
            {
                _logger.LogWarning(required > 0
                    ? "Replicas found: ingest now answers 202 only after a replica holds the events (Ingest__WaitForReplicas=auto)"
                    : "No master has a replica: ingest answers 202 once the master holds the events (Ingest__WaitForReplicas=auto)");
            }
            _refreshedAt = _time.GetUtcNow();
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            // Asked again in a second, not on every request.
            _refreshedAt = _time.GetUtcNow() - AutoRefresh + TimeSpan.FromSeconds(1);
            _logger.LogWarning("Cannot tell whether the masters have replicas (ROLE failed: {Error}); waiting for {Required} replica(s) until it answers",
                e.Message, Volatile.Read(ref _required));
        }
    }

    /// <summary>The WAITs of one master: at most one in flight, the next shared by every write that went out after it.</summary>
    private sealed class Waiter(IServer server, long timeoutMs)
    {
        private readonly Lock _gate = new();
        private long _sent;
        private TaskCompletionSource<long>? _flying;
        private int _flyingReplicas;
        private TaskCompletionSource<long>? _next;
        private int _nextReplicas;

        public IServer Server => server;

        public long WaitsSent
        {
            get
            {
                lock (_gate)
                {
                    return _sent;
                }
            }
        }

        /// <summary>The count of replicas that confirmed a WAIT sent after <paramref name="ticket"/> WAITs had been sent.</summary>
        public Task<long> AfterAsync(long ticket, int replicas)
        {
            lock (_gate)
            {
                if (_flying is not null && _sent > ticket && _flyingReplicas >= replicas)
                {
                    return _flying.Task;
                }
                _next ??= new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
                _nextReplicas = Math.Max(_nextReplicas, replicas);
                var next = _next.Task;
                if (_flying is null)
                {
                    SendNext();
                }
                return next;
            }
        }

        // Under the lock: the count goes up before the WAIT is queued, so a ticket taken meanwhile waits for a later one.
        private void SendNext()
        {
            var flying = _flying = _next!;
            _flyingReplicas = _nextReplicas;
            (_next, _nextReplicas) = (null, 0);
            _sent++;
            Task<RedisResult> wait;
            try
            {
                wait = server.ExecuteAsync("WAIT", _flyingReplicas, timeoutMs);
            }
            catch (Exception e)
            {
                wait = Task.FromException<RedisResult>(e);
            }
            _ = wait.ContinueWith(done => Landed(flying, done), CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
        }

        private void Landed(TaskCompletionSource<long> flying, Task<RedisResult> done)
        {
            lock (_gate)
            {
                _flying = null;
                if (_next is not null)
                {
                    SendNext();
                }
            }
            if (done.IsCompletedSuccessfully)
            {
                flying.SetResult((long)done.Result);
            }
            else
            {
                flying.SetException(done.Exception?.InnerException ?? new TaskCanceledException(done));
            }
        }
    }
}
