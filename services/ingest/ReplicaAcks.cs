using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Arena.Ingest;

/// <summary>Events were written to their master but not confirmed by enough replicas in time.</summary>
public sealed class ReplicaWaitException(string message) : Exception(message);

/// <summary>
/// Holds an answer back until replicas have the write (<c>WAIT</c>), so a master that dies
/// right after answering cannot take an accepted event with it. One <c>WAIT</c> per master
/// covers every write that master answered before it was sent (WAIT counts the connection's
/// writes, and the multiplexer has one connection per server), so concurrent requests share
/// it, as a group commit: a request joins the next <c>WAIT</c> to be sent, never one already
/// in flight, which might not cover its write.
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
    /// Returns once the writes already answered on <paramref name="key"/>'s master are held by
    /// the required replicas; throws <see cref="ReplicaWaitException"/> when too few confirm.
    /// </summary>
    public async Task ConfirmAsync(IDatabaseAsync db, RedisKey key)
    {
        var required = await RequiredAsync();
        if (required == 0)
        {
            return;
        }
        var endpoint = await db.IdentifyEndpointAsync(key)
            ?? throw new ReplicaWaitException($"no master is known for {key}");
        var waiter = _waiters.GetOrAdd(endpoint, e => new Waiter(_redis.GetServer(e)));
        var confirmed = await waiter.NextAsync(required, _options.ReplicaTimeout);
        if (confirmed < required)
        {
            throw new ReplicaWaitException(string.Create(CultureInfo.InvariantCulture,
                $"{confirmed} of {required} replica(s) of {endpoint} confirmed the write within {_options.ReplicaTimeout.TotalMilliseconds:0} ms"));
        }
    }

    /// <summary>The replicas to wait for: the configured number, or with "auto" 1 while any master has a replica.</summary>
    private async ValueTask<int> RequiredAsync()
    {
        if (_options.WaitForReplicas != IngestOptions.Auto || _time.GetUtcNow() - _refreshedAt < AutoRefresh)
        {
            return Volatile.Read(ref _required);
        }
        if (!await _refresh.WaitAsync(0))
        {
            return Volatile.Read(ref _required);
        }
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
            _logger.LogDebug("Replica count not refreshed: {Error}", e.Message);
        }
        finally
        {
            _refresh.Release();
        }
        return Volatile.Read(ref _required);
    }

    /// <summary>The WAITs of one master: at most one in flight, the next shared by everyone who arrives meanwhile.</summary>
    private sealed class Waiter(IServer server)
    {
        private readonly Lock _gate = new();
        private TaskCompletionSource<long>? _next;
        private int _replicas;
        private bool _sending;

        public Task<long> NextAsync(int replicas, TimeSpan timeout)
        {
            lock (_gate)
            {
                _next ??= new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
                _replicas = Math.Max(_replicas, replicas);
                var next = _next.Task;
                if (!_sending)
                {
                    _sending = true;
                    _ = SendAsync((long)Math.Max(1, timeout.TotalMilliseconds));
                }
                return next;
            }
        }

        private async Task SendAsync(long timeoutMs)
        {
            while (true)
            {
                TaskCompletionSource<long> batch;
                int replicas;
                lock (_gate)
                {
                    if (_next is null)
                    {
                        _sending = false;
                        return;
                    }
                    (batch, replicas) = (_next, _replicas);
                    (_next, _replicas) = (null, 0);
                }
                try
                {
                    batch.SetResult((long)await server.ExecuteAsync("WAIT", replicas, timeoutMs));
                }
                catch (Exception e)
                {
                    batch.SetException(e);
                }
            }
        }
    }
}
