using System.Diagnostics.Metrics;
using Arena.Contracts;
using Arena.ServiceDefaults;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Arena.Messaging;

/// <summary>
/// Publishes the state of a group as gauges, refreshed from Redis every few seconds: lag
/// (entries not yet delivered to the group), pending entries and the age of the oldest,
/// the stream's length, and the dead-letter streams' depth and what their cap dropped.
/// </summary>
public sealed class StreamMonitor : BackgroundService
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(5);

    private readonly IConnectionMultiplexer _redis;
    private readonly ConsumerOptions _options;
    private readonly int _partitions;
    private readonly TimeProvider _time;
    private readonly ILogger<StreamMonitor> _logger;
    private volatile Snapshot[] _snapshots = [];
    private long _dlqDepth;
    private long _dlqDropped;

    public StreamMonitor(IConnectionMultiplexer redis, IOptions<ConsumerOptions> options, IOptions<ArenaOptions> arena,
        IMeterFactory meters, TimeProvider time, ILogger<StreamMonitor> logger)
    {
        _redis = redis;
        _options = options.Value;
        _partitions = arena.Value.Partitions;
        _time = time;
        _logger = logger;
        var meter = meters.Create(ConsumerMetrics.MeterName);
        meter.CreateObservableGauge("arena.consumer.group.lag", () => Measure(s => s.Lag), "{entry}", "Entries added to the stream not yet delivered to the group");
        meter.CreateObservableGauge("arena.consumer.group.pending", () => Measure(s => s.Pending), "{entry}", "Entries delivered to the group and not yet acknowledged");
        meter.CreateObservableGauge("arena.consumer.group.oldest_pending.age", () => Measure(s => s.OldestPendingAgeSeconds), "s", "Age of the oldest unacknowledged entry");
        meter.CreateObservableGauge("arena.stream.length", () => Measure(s => s.Length), "{entry}", "Entries in the stream");
        meter.CreateObservableGauge("arena.dlq.depth", () => Volatile.Read(ref _dlqDepth), "{entry}", "Entries in the dead-letter streams of all partitions");
        meter.CreateObservableCounter("arena.dlq.dropped", () => Volatile.Read(ref _dlqDropped), "{entry}", "Dead letters dropped, oldest first, by the dead-letter streams' cap");
    }

    private IEnumerable<Measurement<double>> Measure(Func<Snapshot, double> value) =>
        _snapshots.Select(s => new Measurement<double>(value(s),
            new KeyValuePair<string, object?>("group", _options.Group),
            new KeyValuePair<string, object?>("stream", s.Stream)));

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var db = _redis.GetDatabase();
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var snapshots = new Snapshot[_partitions];
                var (dlqDepth, dlqDropped) = (0L, 0L);
                for (var p = 0; p < _partitions; p++)
                {
                    snapshots[p] = await ReadAsync(db, StreamKeys.Events(p));
                    dlqDepth += await db.StreamLengthAsync(StreamKeys.DeadLetters(p));
                    dlqDropped += (long?)await db.StringGetAsync(DeadLetters.DroppedOf(p)) ?? 0;
                }
                _snapshots = snapshots;
                Volatile.Write(ref _dlqDepth, dlqDepth);
                Volatile.Write(ref _dlqDropped, dlqDropped);
            }
            catch (Exception e) when (e is RedisException or TimeoutException)
            {
                _logger.LogDebug("Stream metrics not refreshed: {Error}", e.Message);
            }
            try
            {
                await Task.Delay(Interval, _time, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private async Task<Snapshot> ReadAsync(IDatabase db, string stream)
    {
        if (!await db.KeyExistsAsync(stream))
        {
            return new Snapshot(stream, 0, 0, 0, 0);
        }
        var info = await db.StreamInfoAsync(stream);
        var group = (await db.StreamGroupInfoAsync(stream)).FirstOrDefault(g => g.Name == _options.Group);
        if (group.Name is null)
        {
            return new Snapshot(stream, info.Length, info.Length, 0, 0);
        }
        var lag = await GroupLag.ReadAsync(db, stream, group, info.Length, StreamId.Parse(info.LastGeneratedId.ToString()));
        var pending = await db.StreamPendingAsync(stream, _options.Group);
        var age = pending.PendingMessageCount > 0 && StreamId.TryParse(pending.LowestPendingMessageId.ToString(), out var oldest)
            ? Math.Max(0, (_time.GetUtcNow().ToUnixTimeMilliseconds() - oldest.Milliseconds) / 1000.0)
            : 0;
        return new Snapshot(stream, info.Length, lag, pending.PendingMessageCount, age);
    }

    private sealed record Snapshot(string Stream, double Length, double Lag, double Pending, double OldestPendingAgeSeconds);
}
