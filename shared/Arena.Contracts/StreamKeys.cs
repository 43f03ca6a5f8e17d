using System.Globalization;

namespace Arena.Contracts;

/// <summary>
/// Redis key names. Every key of a partition carries <c>{p}</c> as its hash tag, so a
/// partition's stream and its dedupe hashes live in one Redis Cluster slot and one Lua script
/// may touch them together.
/// </summary>
public static class StreamKeys
{
    /// <summary>Pub/sub channel on which ingest announces new entries; the message is the partition.</summary>
    public const string WakeChannel = "arena:wake";

    public static string Events(int partition) =>
        string.Create(CultureInfo.InvariantCulture, $"arena:{{{partition}}}:events");

    /// <summary>
    /// The hash of a partition's remembered event ids of one time bucket: bucket <c>b</c> of a
    /// window <c>W</c> holds the ids first seen between <c>b·W</c> and <c>(b+1)·W</c> (Unix ms) and
    /// expires at <c>(b+2)·W</c>, so an id is remembered for between one and two windows. Its
    /// fields are <see cref="DedupeField"/>, its values the events' stream IDs. The window is in
    /// the name, so a changed window never reads a bucket of another width. Producers' ids have no
    /// <paramref name="scope"/>; the pipeline's own events name their run, so a consumer's user
    /// may be allowed those alone.
    /// </summary>
    public static string DedupeBucket(int partition, TimeSpan window, long bucket, string? scope = null) =>
        scope is null
            ? string.Create(CultureInfo.InvariantCulture, $"arena:{{{partition}}}:dedupe:{(long)window.TotalMilliseconds}:{bucket}")
            : string.Create(CultureInfo.InvariantCulture, $"arena:{{{partition}}}:dedupe:{scope}:{(long)window.TotalMilliseconds}:{bucket}");

    /// <summary>
    /// An event's field in the dedupe hashes: deduplication is scoped by (run_id, event_id), so two
    /// runs may use the same event ids. A run id holds no '/' (ids are <c>[A-Za-z0-9._:-]</c>), so the
    /// first '/' ends it and no two pairs share a field.
    /// </summary>
    public static string DedupeField(string runId, string eventId) => string.Concat(runId, "/", eventId);

    /// <summary>
    /// The partition's dead letters. One per partition, in the partition's slot, so moving an
    /// entry to the DLQ and acknowledging it is one script even on Redis Cluster.
    /// </summary>
    public static string DeadLetters(int partition) =>
        string.Create(CultureInfo.InvariantCulture, $"arena:{{{partition}}}:dlq");

    /// <summary>Entries the hard cap removed before the persister committed them, not yet reported.</summary>
    public static string Overflow(int partition) =>
        string.Create(CultureInfo.InvariantCulture, $"arena:{{{partition}}}:overflow");

    /// <summary>
    /// The size of the partition's stream in bytes, as its byte cap counts it: every append adds
    /// its entries' field names and values and subtracts what the cap removed; the trimmer sets it
    /// from Redis's own measure after each trim.
    /// </summary>
    public static string Size(int partition) =>
        string.Create(CultureInfo.InvariantCulture, $"arena:{{{partition}}}:size");

    /// <summary>The group whose commits bound trimming: nothing it has not committed is trimmed on purpose.</summary>
    public const string PersisterGroup = "persister";

    /// <summary>The partition of a stream key made by <see cref="Events"/>, or -1.</summary>
    public static int PartitionOf(string streamKey)
    {
        var open = streamKey.IndexOf('{', StringComparison.Ordinal);
        var close = streamKey.IndexOf('}', StringComparison.Ordinal);
        return open >= 0 && close > open + 1
            && int.TryParse(streamKey.AsSpan(open + 1, close - open - 1), NumberStyles.None, CultureInfo.InvariantCulture, out var p)
            ? p
            : -1;
    }
}

/// <summary>Field names of a stream entry written by ingest.</summary>
public static class StreamFields
{
    public const string EventId = "event_id";
    public const string RunId = "run_id";
    public const string Type = "type";
    /// <summary>The canonical envelope JSON (minified, <c>event_id</c> first).</summary>
    public const string Envelope = "envelope";
    /// <summary>Unix milliseconds at which ingest accepted the event.</summary>
    public const string IngestedAt = "ingested_at";
    /// <summary>W3C trace context of the producer's request, when it was traced.</summary>
    public const string TraceParent = "traceparent";
    /// <summary>The name of the API key the event was published with; absent while ingest is open.</summary>
    public const string Producer = "producer";
}
