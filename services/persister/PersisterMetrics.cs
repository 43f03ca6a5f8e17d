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
    }

    public Counter<long> Written { get; }
    public Counter<long> Redelivered { get; }
}
