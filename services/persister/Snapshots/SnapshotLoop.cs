using System.Diagnostics;
using Microsoft.Extensions.Options;

namespace Arena.Persister.Snapshots;

/// <summary>
/// Takes a <see cref="ParquetSnapshots"/> snapshot every <see cref="PersisterOptions.SnapshotInterval"/>
/// (none when it is zero) on a thread of the history reads, beside the writer rather than in its
/// way; more at once while a backlog remains. A failed snapshot is logged and tried again next time.
/// </summary>
public sealed class SnapshotLoop(ParquetSnapshots snapshots, HistoryReads reads, IOptions<PersisterOptions> options, PersisterMetrics metrics,
    TimeProvider time, ILogger<SnapshotLoop> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = options.Value.SnapshotInterval;
        if (interval == TimeSpan.Zero)
        {
            logger.LogInformation("Parquet snapshots are off (Persister__SnapshotInterval is 0)");
            return;
        }
        await reads.NextAsync(() => { snapshots.Recover(); return true; }, stoppingToken);
        metrics.ReportSnapshots();
        using var timer = new PeriodicTimer(interval, time);
        while (await WaitAsync(timer, stoppingToken))
        {
            while (!stoppingToken.IsCancellationRequested && await TakeAsync(stoppingToken) is { } rows && rows == ParquetSnapshots.MaxRows)
            {
            }
        }
    }

    /// <summary>One snapshot; its row count, or null when it had none or failed.</summary>
    private async Task<long?> TakeAsync(CancellationToken stoppingToken)
    {
        var clock = Stopwatch.StartNew();
        try
        {
            var snapshot = await reads.NextAsync(snapshots.Take, stoppingToken);
            metrics.SnapshotTaken(snapshot?.Rows ?? 0, clock.Elapsed, time.GetUtcNow());
            if (snapshot is null)
            {
                return null;
            }
            logger.LogInformation("Snapshot of {Rows} events ({First} to {Last}) written to {Files} in {Milliseconds} ms",
                snapshot.Rows, snapshot.First, snapshot.Last, string.Join(", ", snapshot.Files), clock.ElapsedMilliseconds);
            return snapshot.Rows;
        }
        catch (Exception e) when (e is DuckDB.NET.Data.DuckDBException or IOException or UnauthorizedAccessException)
        {
            metrics.SnapshotFailed();
            logger.LogError(e, "Snapshot to {Folder} failed; it is tried again in {Interval}", snapshots.Folder, options.Value.SnapshotInterval);
            return null;
        }
    }

    private static async Task<bool> WaitAsync(PeriodicTimer timer, CancellationToken stoppingToken)
    {
        try
        {
            return await timer.WaitForNextTickAsync(stoppingToken);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }
}
