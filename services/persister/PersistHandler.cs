using Arena.Messaging;
using Arena.Persister.Storage;

namespace Arena.Persister;

/// <summary>
/// Writes a batch to DuckDB in one transaction; every entry is acknowledged only after that
/// commit. An entry that can never be stored (it does not parse) is dead-lettered at once.
/// Storage failures throw, and the runtime retries the batch as a transient failure.
/// </summary>
public sealed class PersistHandler(EventStore store, PersisterMetrics metrics)
    : IBatchHandler
{
    public ValueTask<IReadOnlyList<MessageOutcome>> HandleAsync(IReadOnlyList<StreamMessage> batch, CancellationToken cancellationToken)
    {
        var outcomes = new MessageOutcome[batch.Count];
        var rows = new List<StoredEvent>(batch.Count);
        for (var i = 0; i < batch.Count; i++)
        {
            if (StreamEntryParser.Parse(batch[i], out var problem) is { } row)
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
        return ValueTask.FromResult<IReadOnlyList<MessageOutcome>>(outcomes);
    }
}
