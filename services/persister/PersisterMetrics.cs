using System.Diagnostics.Metrics;
using Arena.ServiceDefaults;

namespace Arena.Persister;

public sealed class PersisterMetrics
{
    public const string MeterName = ArenaTelemetry.MeterPrefix + "Persister";

    public PersisterMetrics(IMeterFactory meters)
    {
        var meter = meters.Create(MeterName);
        Consumed = meter.CreateCounter<long>("arena.persister.entries.consumed", "{entry}", "Stream entries read");
        Written = meter.CreateCounter<long>("arena.persister.rows.written", "{row}", "New rows committed to DuckDB");
        Redelivered = meter.CreateCounter<long>("arena.persister.rows.redelivered", "{row}", "Entries already stored, skipped");
        DeadLettered = meter.CreateCounter<long>("arena.persister.entries.dead_lettered", "{entry}", "Entries moved to the DLQ");
        Deleted = meter.CreateCounter<long>("arena.persister.entries.deleted", "{entry}", "Pending entries gone from the stream, acknowledged");
        Failures = meter.CreateCounter<long>("arena.persister.failures", "{failure}", "Transient failures (Redis or DuckDB), retried");
        BatchDuration = meter.CreateHistogram<double>("arena.persister.batch.duration", "ms", "Parse, commit and ack of one batch");
        CommitLag = meter.CreateHistogram<double>("arena.persister.commit.lag", "ms", "From ingest accepting an event to its commit");
    }

    public Counter<long> Consumed { get; }
    public Counter<long> Written { get; }
    public Counter<long> Redelivered { get; }
    public Counter<long> DeadLettered { get; }
    public Counter<long> Deleted { get; }
    public Counter<long> Failures { get; }
    public Histogram<double> BatchDuration { get; }
    public Histogram<double> CommitLag { get; }
}
