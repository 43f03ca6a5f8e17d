using System.Diagnostics.Metrics;
using Arena.ServiceDefaults;

namespace Arena.Persister;

public sealed class PersisterMetrics
{
    public const string MeterName = ArenaTelemetry.MeterPrefix + "Persister";

    public PersisterMetrics(IMeterFactory meters)
    {
        var meter = meters.Create(MeterName);
        Written = meter.CreateCounter<long>("arena.persister.rows.written", "{row}", "New rows committed to DuckDB");
        Redelivered = meter.CreateCounter<long>("arena.persister.rows.redelivered", "{row}", "Entries already stored, skipped");
        ReadsInFlight = meter.CreateUpDownCounter<long>("arena.persister.reads.in_flight", "{read}", "History reads running against DuckDB");
        ReadsQueued = meter.CreateUpDownCounter<long>("arena.persister.reads.queued", "{request}", "History requests waiting for their first read");
        ReadsRefused = meter.CreateCounter<long>("arena.persister.reads.refused", "{request}", "History requests answered 503 because the read queue was full");
    }

    public Counter<long> Written { get; }
    public Counter<long> Redelivered { get; }
    public UpDownCounter<long> ReadsInFlight { get; }
    public UpDownCounter<long> ReadsQueued { get; }
    public Counter<long> ReadsRefused { get; }
}
