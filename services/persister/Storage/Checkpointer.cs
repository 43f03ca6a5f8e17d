using System.Diagnostics;
using DuckDB.NET.Data;
using Microsoft.Extensions.Options;

namespace Arena.Persister.Storage;

/// <summary>
/// Writes DuckDB's write-ahead log into the file on a connection of its own whenever the log has
/// reached <see cref="PersisterOptions.CheckpointAtWalMiB"/>, off the writer's loop; the writer's
/// appends still wait while the checkpoint writes the events table (DuckDB 1.5), which the file's
/// small row groups keep short. Left to DuckDB, a checkpoint runs inside the commit that crosses its
/// threshold: 300–500 ms of the writer's loop every ~40,000 events at DuckDB's default, a fifth
/// of the persister's CPU while it drains a backlog. DuckDB's own checkpoint stays as the
/// backstop, at four times the size. A failed checkpoint is logged and tried again.
/// </summary>
public sealed class Checkpointer(EventStore store, IOptions<PersisterOptions> options, PersisterMetrics metrics,
    TimeProvider time, ILogger<Checkpointer> logger) : BackgroundService
{
    /// <summary>How often the log's size is looked at.</summary>
    public static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(250);

    /// <summary>DuckDB's own <c>checkpoint_threshold</c> for these options.</summary>
    public static long DuckDbThreshold(PersisterOptions options) => 4 * WalBytes(options);

    private static long WalBytes(PersisterOptions options) => options.CheckpointAtWalMiB * (1L << 20);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var walBytes = WalBytes(options.Value);
        using var timer = new PeriodicTimer(Poll, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                // Not cancelled once begun: a checkpoint in progress ends before the store closes.
                await Task.Run(() => Checkpoint(walBytes), CancellationToken.None);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private void Checkpoint(long walBytes)
    {
        var clock = Stopwatch.StartNew();
        try
        {
            if (store.File.CheckpointIfWalReaches(walBytes))
            {
                metrics.CheckpointDuration.Record(clock.Elapsed.TotalSeconds);
                logger.LogDebug("Checkpointed {Path} in {Milliseconds} ms", store.Path, clock.ElapsedMilliseconds);
            }
        }
        catch (Exception e) when (e is DuckDBException or IOException)
        {
            metrics.CheckpointFailures.Add(1);
            logger.LogWarning("Checkpoint of {Path} failed; it is tried again in {Poll} ms: {Error}", store.Path, (int)Poll.TotalMilliseconds, e.Message);
        }
    }
}
