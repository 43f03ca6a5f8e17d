using System.Diagnostics.Metrics;
using Arena.ServiceDefaults;

namespace Arena.Persister;

public sealed class PersisterMetrics
{
    public const string MeterName = ArenaTelemetry.MeterPrefix + "Persister";

    private readonly Meter _meter;
    private long _lastSnapshotUnixSeconds;

    public PersisterMetrics(IMeterFactory meters)
    {
        var meter = _meter = meters.Create(MeterName);
        Written = meter.CreateCounter<long>("arena.persister.rows.written", "{row}", "New rows committed to DuckDB");
        Redelivered = meter.CreateCounter<long>("arena.persister.rows.redelivered", "{row}", "Entries already stored, skipped");
        ReadsInFlight = meter.CreateUpDownCounter<long>("arena.persister.reads.in_flight", "{read}", "History reads running against DuckDB");
        ReadsQueued = meter.CreateUpDownCounter<long>("arena.persister.reads.queued", "{request}", "History requests waiting for their first read");
        ReadsRefused = meter.CreateCounter<long>("arena.persister.reads.refused", "{request}", "History requests answered 503 because the read queue was full");
        SnapshotRows = meter.CreateCounter<long>("arena.persister.snapshot.rows", "{row}", "Events written to Parquet snapshots");
        SnapshotFailures = meter.CreateCounter<long>("arena.persister.snapshot.failures", "{snapshot}", "Parquet snapshots that failed and are tried again");
        SnapshotDuration = meter.CreateHistogram<double>("arena.persister.snapshot.duration", "s", "Time to write one Parquet snapshot");
        CheckpointDuration = meter.CreateHistogram<double>("arena.persister.checkpoint.duration", "s",
            "Time to write DuckDB's write-ahead log into its file, beside the writer");
        CheckpointFailures = meter.CreateCounter<long>("arena.persister.checkpoint.failures", "{checkpoint}", "Checkpoints that failed and are tried again");
    }

    public Counter<long> Written { get; }
    public Counter<long> Redelivered { get; }
    public UpDownCounter<long> ReadsInFlight { get; }
    public UpDownCounter<long> ReadsQueued { get; }
    public Counter<long> ReadsRefused { get; }
    public Counter<long> SnapshotRows { get; }
    public Counter<long> SnapshotFailures { get; }
    public Histogram<double> SnapshotDuration { get; }
    public Histogram<double> CheckpointDuration { get; }
    public Counter<long> CheckpointFailures { get; }

    /// <summary>Starts the snapshot series at zero, and the last success gauge (0 until the first).</summary>
    public void ReportSnapshots()
    {
        SnapshotRows.Add(0);
        SnapshotFailures.Add(0);
        _meter.CreateObservableGauge("arena.persister.snapshot.last_success", () => Interlocked.Read(ref _lastSnapshotUnixSeconds), "s",
            "Unix time of the last Parquet snapshot that succeeded, with or without new rows; 0 until the first");
    }

    public void SnapshotTaken(long rows, TimeSpan duration, DateTimeOffset at)
    {
        SnapshotRows.Add(rows);
        SnapshotDuration.Record(duration.TotalSeconds);
        Interlocked.Exchange(ref _lastSnapshotUnixSeconds, at.ToUnixTimeSeconds());
    }

    public void SnapshotFailed() => SnapshotFailures.Add(1);
}
