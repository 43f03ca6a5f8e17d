using System.Diagnostics.Metrics;
using Arena.ServiceDefaults;

namespace Arena.Messaging;

/// <summary>The consumer runtime's instruments; every measurement is tagged with its group.</summary>
public sealed class ConsumerMetrics
{
    public const string MeterName = ArenaTelemetry.MeterPrefix + "Consumers";

    public ConsumerMetrics(IMeterFactory meters)
    {
        var meter = meters.Create(MeterName);
        Consumed = meter.CreateCounter<long>("arena.consumer.messages.consumed", "{message}", "Messages delivered to the handler");
        Processed = meter.CreateCounter<long>("arena.consumer.messages.processed", "{message}", "Messages handled and acknowledged");
        Failed = meter.CreateCounter<long>("arena.consumer.messages.failed", "{message}", "Messages whose handling failed (left pending for redelivery)");
        Retried = meter.CreateCounter<long>("arena.consumer.batches.retried", "{attempt}", "Batch attempts repeated after a transient failure (Redis, disk)");
        DeadLettered = meter.CreateCounter<long>("arena.consumer.messages.dead_lettered", "{message}", "Messages moved to the dead-letter stream");
        Claimed = meter.CreateCounter<long>("arena.consumer.messages.claimed", "{message}", "Messages taken over with XAUTOCLAIM");
        Deleted = meter.CreateCounter<long>("arena.consumer.messages.deleted", "{message}", "Pending entries gone from the stream, acknowledged without handling");
        BatchDuration = meter.CreateHistogram<double>("arena.consumer.batch.duration", "ms", "Handling and acknowledging one batch");
        IngestLatency = meter.CreateHistogram<double>("arena.consumer.ingest_to_ack.duration", "ms", "From ingest accepting an event to its acknowledgement by the group");
    }

    public Counter<long> Consumed { get; }
    public Counter<long> Processed { get; }
    public Counter<long> Failed { get; }
    public Counter<long> Retried { get; }
    public Counter<long> DeadLettered { get; }
    public Counter<long> Claimed { get; }
    public Counter<long> Deleted { get; }
    public Histogram<double> BatchDuration { get; }
    public Histogram<double> IngestLatency { get; }

    /// <summary>
    /// Exports the failure counters of <paramref name="group"/> at zero, so dashboards and
    /// alerts have a series (and see the first increase) before anything has gone wrong.
    /// </summary>
    public void StartGroup(string group)
    {
        var tag = GroupTag(group);
        foreach (var counter in new[] { Failed, Retried, DeadLettered, Claimed, Deleted })
        {
            counter.Add(0, tag);
        }
    }

    public static KeyValuePair<string, object?> GroupTag(string group) => new("group", group);
}
