using System.Text.Json;
using Arena.Contracts;
using StackExchange.Redis;

namespace Arena.Messaging;

/// <summary>The fields of a stream entry, and the pipeline's own events written as such entries.</summary>
public static class StreamEntries
{
    public static NameValueEntry[] Fields(string eventId, string runId, string type, RedisValue envelope, long ingestedAtMs,
        string? traceParent = null, string? producer = null)
    {
        // Sized exactly: this runs once per accepted event.
        var fields = new NameValueEntry[5 + (traceParent is null ? 0 : 1) + (producer is null ? 0 : 1)];
        fields[0] = new(StreamFields.EventId, eventId);
        fields[1] = new(StreamFields.RunId, runId);
        fields[2] = new(StreamFields.Type, type);
        fields[3] = new(StreamFields.Envelope, envelope);
        fields[4] = new(StreamFields.IngestedAt, ingestedAtMs);
        var next = 5;
        if (traceParent is not null)
        {
            fields[next++] = new(StreamFields.TraceParent, traceParent);
        }
        if (producer is not null)
        {
            fields[next] = new(StreamFields.Producer, producer);
        }
        return fields;
    }

    /// <summary>
    /// Appends an event of the pipeline itself (run <see cref="PipelineRun.Id"/>, on that run's
    /// partition); with <paramref name="idempotent"/> its event id is deduplicated for a day.
    /// </summary>
    public static async Task<Appended> AppendPipelineEventAsync<T>(IDatabaseAsync db, int partitions, string type, T payload,
        string eventId, bool idempotent, DateTimeOffset now) where T : notnull
    {
        var envelope = JsonSerializer.SerializeToUtf8Bytes(
            Envelope.Create(PipelineRun.Id, now.ToUnixTimeMilliseconds(), type, now, payload, eventId), ArenaJson.Default.Envelope);
        var appended = await StreamAppender.AppendAsync(db, Partitioner.PartitionOf(PipelineRun.Id, partitions),
            [new StreamAppender.Entry(eventId, PipelineRun.Id, type, envelope, idempotent)], new StreamAppender.Shared(now.ToUnixTimeMilliseconds()),
            StreamAppender.Caps.None, new StreamAppender.Dedupe(TimeSpan.FromDays(1), PipelineRun.Id), StreamKeys.PersisterGroup);
        return appended[0];
    }
}
