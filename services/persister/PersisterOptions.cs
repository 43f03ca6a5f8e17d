using System.ComponentModel.DataAnnotations;
using Arena.Messaging;

namespace Arena.Persister;

/// <summary>
/// Bound from the <c>Persister</c> section (<c>Persister__*</c>), beside the consumer
/// settings (<c>Persister__BatchSize</c>, <c>Persister__ClaimMinIdle</c>, …).
/// </summary>
public sealed class PersisterOptions : IValidatableObject
{
    public const string Section = "Persister";

    /// <summary>
    /// DuckDB reads of the history API running at once, each on a thread of its own: the
    /// rest wait, so that many large requests share the cores and memory with the writer.
    /// </summary>
    [Range(1, 64)]
    public int MaxConcurrentReads { get; set; } = 4;

    /// <summary>History requests that may wait for a read; more are answered 503 with <c>Retry-After</c>.</summary>
    [Range(0, 10_000)]
    public int MaxQueuedReads { get; set; } = 64;

    /// <summary>
    /// How often the events committed since the last snapshot are written to Parquet files under
    /// <c>&lt;DataDir&gt;/snapshots</c>; zero writes none.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "7.00:00:00", ErrorMessage = "SnapshotInterval must be 0 (no snapshots) or from 00:00:00.100 to 7.00:00:00.")]
    public TimeSpan SnapshotInterval { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// The size of DuckDB's write-ahead log, in MiB, at which the persister checkpoints it into the
    /// file beside the writer (<see cref="Storage.Checkpointer"/>); DuckDB's own checkpoint, which runs inside
    /// the writer's commit, waits for four times as much. Appends wait while a checkpoint writes
    /// the table, so this and <see cref="Arena.Storage.DuckDbFile.RowGroupSize"/> bound that pause.
    /// </summary>
    [Range(1, 4096)]
    public int CheckpointAtWalMiB { get; set; } = 16;

    /// <summary>
    /// Rows a transaction grows to while a backlog lasts, unless <c>Persister__BatchSize</c> or
    /// <c>Persister__MaxBatchSize</c> is set: DuckDB's appender writes about half as many rows
    /// again per second at 10,000 rows per transaction as at 1,000, and a persister that has
    /// caught up still commits what each read brings at once.
    /// </summary>
    public const int BacklogBatchSize = 10_000;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (SnapshotInterval > TimeSpan.Zero && SnapshotInterval < TimeSpan.FromMilliseconds(100))
        {
            yield return new ValidationResult("SnapshotInterval must be 0 (no snapshots) or from 00:00:00.100 to 7.00:00:00.", [nameof(SnapshotInterval)]);
        }
    }
}
