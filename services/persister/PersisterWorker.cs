using System.Diagnostics;
using Arena.Contracts;
using Arena.Persister.Storage;
using Arena.ServiceDefaults;
using DuckDB.NET.Data;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Arena.Persister;

/// <summary>
/// Reads the group <c>persister</c> on every partition: first the entries this consumer
/// holds from before a restart, then new ones; commits each batch to DuckDB in one
/// transaction and acknowledges it only after the commit.
/// </summary>
public sealed class PersisterWorker(
    IConnectionMultiplexer redis,
    EventStore store,
    IOptions<PersisterOptions> options,
    IOptions<ArenaOptions> arena,
    PersisterMetrics metrics,
    LoopHealth health,
    TimeProvider time,
    ILogger<PersisterWorker> logger) : BackgroundService
{
    private const string LoopName = "persister";
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(5);

    private readonly PersisterOptions _options = options.Value;
    private readonly int _partitions = arena.Value.Partitions;
    private readonly SemaphoreSlim _wake = new(0, 1);
    private int _commits;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var db = redis.GetDatabase();
        var subscribed = false;
        var groupReady = new bool[_partitions];
        var pendingFirst = Enumerable.Repeat(true, _partitions).ToArray();
        var backoff = TimeSpan.FromMilliseconds(100);
        logger.LogInformation("Persisting {Partitions} partition(s) as {Consumer} into {Path}", _partitions, _options.ConsumerName, store.Path);

        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                if (!subscribed)
                {
                    await redis.GetSubscriber().SubscribeAsync(RedisChannel.Literal(StreamKeys.WakeChannel), (_, _) => Wake());
                    subscribed = true;
                }

                var readAgain = false;
                for (var p = 0; p < _partitions; p++)
                {
                    var stream = StreamKeys.Events(p);
                    if (!groupReady[p])
                    {
                        await EnsureGroupAsync(db, stream);
                        groupReady[p] = true;
                    }
                    // "0" re-reads what this consumer holds unacknowledged; ">" reads new entries.
                    var entries = await db.StreamReadGroupAsync(stream, PersisterOptions.Group, _options.ConsumerName,
                        pendingFirst[p] ? "0" : ">", _options.BatchSize);
                    if (entries.Length > 0)
                    {
                        await HandleAsync(db, p, stream, entries);
                    }
                    if (pendingFirst[p] && entries.Length == 0)
                    {
                        pendingFirst[p] = false;
                        readAgain = true;
                    }
                    readAgain |= entries.Length == _options.BatchSize;
                }

                health.Healthy(LoopName);
                backoff = TimeSpan.FromMilliseconds(100);
                if (!readAgain)
                {
                    await _wake.WaitAsync(_options.IdlePoll, stoppingToken);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e) when (IsTransient(e))
            {
                if (e.Message.StartsWith("NOGROUP", StringComparison.Ordinal))
                {
                    Array.Fill(groupReady, false);
                }
                // Whatever was read but not acknowledged is still ours: re-read it first.
                Array.Fill(pendingFirst, true);
                metrics.Failures.Add(1);
                health.Unhealthy(LoopName, $"{e.GetType().Name}: {e.Message}");
                logger.LogWarning("Persisting paused for {Backoff} ms: {Error}", backoff.TotalMilliseconds, e.Message);
                try
                {
                    await Task.Delay(backoff, time, stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
                backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, MaxBackoff.Ticks));
            }
        }
        logger.LogInformation("Persister stopped after {Commits} commits", _commits);
    }

    private void Wake()
    {
        if (_wake.CurrentCount == 0)
        {
            try
            {
                _wake.Release();
            }
            catch (SemaphoreFullException)
            {
                // Another wake-up got there first; one is enough.
            }
        }
    }

    private static async Task EnsureGroupAsync(IDatabase db, string stream)
    {
        try
        {
            await db.StreamCreateConsumerGroupAsync(stream, PersisterOptions.Group, "0", createStream: true);
        }
        catch (RedisServerException e) when (e.Message.StartsWith("BUSYGROUP", StringComparison.Ordinal))
        {
            // The group exists: keep its position.
        }
    }

    private async Task HandleAsync(IDatabase db, int partition, string stream, StreamEntry[] entries)
    {
        var started = Stopwatch.GetTimestamp();
        var rows = new List<StoredEvent>(entries.Length);
        var done = new List<RedisValue>(entries.Length);
        var poison = new List<(StreamEntry Entry, string Problem)>();
        foreach (var entry in entries)
        {
            if (entry.Values is null || entry.Values.Length == 0)
            {
                // Trimmed or deleted while pending: nothing left to store.
                metrics.Deleted.Add(1);
                done.Add(entry.Id);
            }
            else if (StreamEntryParser.Parse(partition, entry, out var problem) is { } row)
            {
                rows.Add(row);
                done.Add(entry.Id);
            }
            else
            {
                poison.Add((entry, problem!));
            }
        }
        metrics.Consumed.Add(entries.Length);

        var result = store.Write(rows);
        metrics.Written.Add(result.Inserted);
        metrics.Redelivered.Add(rows.Count - result.Inserted);
        var now = time.GetUtcNow();
        foreach (var row in rows)
        {
            metrics.CommitLag.Record((now - row.IngestedAt).TotalMilliseconds);
        }

        _commits++;
        if (_options.KillAfterCommits > 0 && _commits >= _options.KillAfterCommits)
        {
            logger.LogCritical("KillAfterCommits={Commits} reached: killing the process between commit and ack", _options.KillAfterCommits);
            Process.GetCurrentProcess().Kill();
        }

        foreach (var (entry, problem) in poison)
        {
            await DeadLetterAsync(db, stream, entry, problem);
            done.Add(entry.Id);
        }
        if (done.Count > 0)
        {
            await db.StreamAcknowledgeAsync(stream, PersisterOptions.Group, [.. done]);
        }
        metrics.BatchDuration.Record(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
    }

    private async Task DeadLetterAsync(IDatabase db, string stream, StreamEntry entry, string problem)
    {
        var pending = await db.StreamPendingMessagesAsync(stream, PersisterOptions.Group, 1, _options.ConsumerName, entry.Id, entry.Id);
        var deliveries = pending.Length > 0 ? pending[0].DeliveryCount : 1;
        NameValueEntry[] fields =
        [
            .. entry.Values,
            new("original_stream", stream),
            new("original_id", entry.Id),
            new("group", PersisterOptions.Group),
            new("deliveries", deliveries),
            new("error", problem),
            new("failed_at", time.GetUtcNow().ToString("O")),
        ];
        await db.StreamAddAsync(StreamKeys.DeadLetters, fields);
        metrics.DeadLettered.Add(1);
        logger.LogError("Entry {Id} of {Stream} moved to {Dlq}: {Problem}", entry.Id, stream, StreamKeys.DeadLetters, problem);
    }

    private static bool IsTransient(Exception e) =>
        e is RedisException or TimeoutException or DuckDBException or IOException;

    public override void Dispose()
    {
        _wake.Dispose();
        base.Dispose();
    }
}
