using System.Diagnostics;
using Arena.Messaging;
using Arena.Persister.Storage;
using Microsoft.Extensions.Options;

namespace Arena.Persister;

/// <summary>
/// Writes a batch to DuckDB in one transaction; every entry is acknowledged only after that
/// commit. An entry that can never be stored (it does not parse) is dead-lettered at once.
/// Storage failures throw, and the runtime retries the batch as a transient failure.
/// </summary>
public sealed class PersistHandler(EventStore store, IOptions<PersisterOptions> options, PersisterMetrics metrics, ILogger<PersistHandler> logger)
    : IBatchHandler
{
    private readonly int _killAfterCommits = options.Value.KillAfterCommits;
    private int _commits;

    public ValueTask<IReadOnlyList<MessageOutcome>> HandleAsync(IReadOnlyList<StreamMessage> batch, CancellationToken cancellationToken)
    {
        var outcomes = new MessageOutcome[batch.Count];
        var rows = new List<StoredEvent>(batch.Count);
        for (var i = 0; i < batch.Count; i++)
        {
            if (StreamEntryParser.Parse(batch[i].Partition, batch[i].Entry, out var problem) is { } row)
            {
                rows.Add(row);
                outcomes[i] = MessageOutcome.Ack;
            }
            else
            {
                outcomes[i] = MessageOutcome.DeadLetter(problem!);
            }
        }

        var inserted = store.Write(rows);
        metrics.Written.Add(inserted);
        metrics.Redelivered.Add(rows.Count - inserted);

        if (_killAfterCommits > 0 && ++_commits >= _killAfterCommits)
        {
            logger.LogCritical("KillAfterCommits={Commits} reached: killing the process between commit and ack", _killAfterCommits);
            Process.GetCurrentProcess().Kill();
        }
        return ValueTask.FromResult<IReadOnlyList<MessageOutcome>>(outcomes);
    }
}
