using Arena.Contracts;
using StackExchange.Redis;

namespace Arena.Pipeline.Tests.Infrastructure;

/// <summary>What ingest remembers of a producer's event id: the bucket hash that holds it, read as Redis holds it.</summary>
public static class DedupeMemory
{
    /// <summary>The dedupe hashes an id given now could be in: the previous, current and next bucket of <paramref name="window"/>.</summary>
    public static IEnumerable<string> Buckets(int partition, TimeSpan window)
    {
        var bucket = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / (long)window.TotalMilliseconds;
        return [.. Enumerable.Range(-1, 3).Select(d => StreamKeys.DedupeBucket(partition, window, bucket + d))];
    }

    /// <summary>The bucket hash remembering (<paramref name="runId"/>, <paramref name="eventId"/>) and the stream ID stored there, or null.</summary>
    public static async Task<(string Bucket, string StreamId)?> FindAsync(IDatabaseAsync db, int partition, string runId, string eventId, TimeSpan window)
    {
        foreach (var bucket in Buckets(partition, window))
        {
            if (await db.HashGetAsync(bucket, StreamKeys.DedupeField(runId, eventId)) is { IsNull: false } id)
            {
                return (bucket, id.ToString());
            }
        }
        return null;
    }
}
