using System.Diagnostics;
using System.Globalization;
using Arena.Contracts;
using Arena.Harness;
using Arena.Messaging;
using StackExchange.Redis;

namespace Arena.Bench;

/// <summary>The persister draining a stream filled beforehand, from nothing delivered or from its own pending entries.</summary>
internal static class ConsumerBenchmarks
{
    /// <summary>How many entries the drain commits: the raw appender it is held to writes as many rows.</summary>
    public const int DrainEntries = 1_000_000;

    /// <summary>Events/s at which a fresh persister commits <paramref name="count"/> entries that were never delivered.</summary>
    public static async Task<double> PersisterDrainAsync(int count)
    {
        await using var redis = await RedisProcess.StartAsync();
        var last = await FillAsync(redis.Client.GetDatabase(), count);
        await using var persister = await StartPersisterAsync(redis, "persister-bench");
        return await WatchDrainAsync(redis.Client.GetDatabase(), count, last, pendingFor: null);
    }

    /// <summary>
    /// Seconds from the restart of a persister that died holding <paramref name="count"/>
    /// delivered, unacknowledged entries until all are committed and acknowledged.
    /// </summary>
    /// <returns>The whole time, and how much of it the process took to start and answer <c>/readyz</c>.</returns>
    public static async Task<(double Seconds, double StartSeconds)> RecoveryAsync(int count)
    {
        await using var redis = await RedisProcess.StartAsync();
        var db = redis.Client.GetDatabase();
        var last = await FillAsync(db, count);
        var stream = StreamKeys.Events(0);
        await db.StreamCreateConsumerGroupAsync(stream, StreamKeys.PersisterGroup, "0");
        // A persister that read everything and died before acknowledging any of it.
        for (var read = 0; read < count;)
        {
            read += (await db.StreamReadGroupAsync(stream, StreamKeys.PersisterGroup, "persister-bench", ">", 10_000)).Length;
        }
        var clock = Stopwatch.StartNew();
        await using var persister = await StartPersisterAsync(redis, "persister-bench");
        var started = clock.Elapsed.TotalSeconds;
        await WatchDrainAsync(db, count, last, pendingFor: clock);
        return (clock.Elapsed.TotalSeconds, started);
    }

    private static Task<ServiceProcess> StartPersisterAsync(RedisProcess redis, string consumerName) =>
        ServiceProcess.StartAsync("persister", redis, new Dictionary<string, string> { ["Persister__ConsumerName"] = consumerName });

    /// <summary>
    /// Polls the group until every entry is committed and acknowledged; the rate counts from
    /// the first progress seen, so process start-up is left out of it.
    /// </summary>
    private static async Task<double> WatchDrainAsync(IDatabase db, int count, RedisValue last, Stopwatch? pendingFor)
    {
        var stream = StreamKeys.Events(0);
        Stopwatch? since = null;
        long startedAt = 0;
        var progress = Stopwatch.StartNew();
        while (true)
        {
            var group = (await db.StreamGroupInfoAsync(stream)).FirstOrDefault(g => g.Name == StreamKeys.PersisterGroup);
            var done = (group.EntriesRead ?? 0) - group.PendingMessageCount;
            if (since is null && done > 0)
            {
                (since, startedAt) = (Stopwatch.StartNew(), done);
            }
            if (group.Name is not null && group.PendingMessageCount == 0 && group.LastDeliveredId == last)
            {
                Progress.Clear();
                return (count - startedAt) / Math.Max(since?.Elapsed.TotalSeconds ?? 0, 1e-3);
            }
            if (progress.Elapsed > TimeSpan.FromSeconds(1))
            {
                Progress.Show(string.Create(CultureInfo.InvariantCulture, $"{done:N0} of {count:N0} committed"));
                progress.Restart();
            }
            if ((pendingFor ?? since)?.Elapsed > TimeSpan.FromMinutes(5))
            {
                throw new TimeoutException($"the persister committed {done:N0} of {count:N0} entries in 5 minutes");
            }
            await Task.Delay(20);
        }
    }

    /// <summary>Adds <paramref name="count"/> sample events as ingest writes them.</summary>
    /// <returns>The ID of the last entry.</returns>
    public static async Task<RedisValue> FillAsync(IDatabase db, int count)
    {
        await RawLimits.AddAsync(db, [.. SampleEvents.Create(count).Select(e => e.EntryFields())], RawLimits.XaddsInFlight);
        return (await db.StreamInfoAsync(StreamKeys.Events(0))).LastGeneratedId;
    }
}
