using System.Diagnostics;
using Arena.Contracts;
using StackExchange.Redis;

namespace Arena.Messaging;

/// <summary>
/// Carries a producer's trace through the stream: ingest stores the request's
/// <c>traceparent</c> in each entry, and whoever works on the entry records a span in that
/// trace, so one trace shows the producer's request and every service's work on the event.
/// </summary>
public static class StreamTracing
{
    /// <summary>The trace of the request that published the entry, if it was traced.</summary>
    public static bool TryGetProducer(StreamEntry entry, out ActivityContext producer) =>
        ActivityContext.TryParse(entry[StreamFields.TraceParent].ToString(), null, out producer);

    /// <summary>
    /// One span per traced entry, a child of its producer's span, covering the work from
    /// <paramref name="started"/> until now (entries handled together share that time) and
    /// linked to <paramref name="batch"/>, the span of the work on all of them.
    /// </summary>
    /// <param name="describe">Adds tags to the span of the entry at the given index.</param>
    public static void RecordPerEntry(ActivitySource source, string name, IReadOnlyList<StreamEntry> entries, DateTimeOffset started,
        ActivityContext batch = default, Action<Activity, int>? describe = null)
    {
        if (!source.HasListeners())
        {
            return;
        }
        var ended = DateTimeOffset.UtcNow;
        ActivityLink[]? links = batch == default ? null : [new ActivityLink(batch)];
        for (var i = 0; i < entries.Count; i++)
        {
            var entry = entries[i];
            if (!TryGetProducer(entry, out var producer))
            {
                continue;
            }
            using var span = source.StartActivity(name, ActivityKind.Consumer, producer, links: links, startTime: started);
            if (span is null)
            {
                continue;
            }
            span.SetTag("messaging.system", "redis");
            span.SetTag("messaging.message.id", entry.Id.ToString());
            describe?.Invoke(span, i);
            span.SetEndTime(ended.UtcDateTime);
        }
    }
}
