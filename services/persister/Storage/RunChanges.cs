using Arena.Contracts;
using DuckDB.NET.Data;

namespace Arena.Persister.Storage;

/// <summary>
/// What a batch's new rows add to their runs' summaries: one partial summary per run,
/// worked out inside the batch's transaction and applied only once it has committed.
/// </summary>
internal static class RunChanges
{
    public static IReadOnlyCollection<RunSummary> Of(IReadOnlyList<StoredEvent> written, DuckDBConnection writer)
    {
        var fatal = FatalRuns(written, writer);
        var runs = new Dictionary<string, RunSummary>(StringComparer.Ordinal);
        foreach (var e in written)
        {
            var ts = RunSummary.AsStored(e.Header.Ts);
            var row = new RunSummary(e.Header.RunId, 1, ts, ts, RunSummary.AsStored(e.IngestedAt),
                e.Header.Type == EventTypes.GameEnd, fatal.Contains(e.Header.RunId));
            runs[row.RunId] = runs.TryGetValue(row.RunId, out var earlier) ? earlier.Merge(row) : row;
        }
        return runs.Values;
    }

    /// <summary>
    /// The runs with a fatal error among <paramref name="written"/>, decided by DuckDB with the
    /// same SQL as the start-up summary, so that the JSON is read one way only. A query costs
    /// about a millisecond on this hardware, so only errors that may be fatal reach it.
    /// </summary>
    private static HashSet<string> FatalRuns(IReadOnlyList<StoredEvent> written, DuckDBConnection writer)
    {
        var fatal = new HashSet<string>(StringComparer.Ordinal);
        var errors = written.Where(e => e.Header.Type == EventTypes.Error && MayBeFatal(e.Envelope)).ToList();
        if (errors.Count == 0)
        {
            return fatal;
        }
        using var command = writer.CreateCommand();
        var values = string.Join(", ", errors.Select((_, i) => $"($run{i}, $type{i}, $envelope{i}::JSON)"));
        command.CommandText = $"""
            SELECT DISTINCT run_id FROM (VALUES {values}) errors(run_id, type, envelope)
            WHERE {RunSummary.IsFatalError("type", "envelope")}
            """;
        for (var i = 0; i < errors.Count; i++)
        {
            command.Parameters.Add(new DuckDBParameter($"run{i}", errors[i].Header.RunId));
            command.Parameters.Add(new DuckDBParameter($"type{i}", errors[i].Header.Type));
            command.Parameters.Add(new DuckDBParameter($"envelope{i}", errors[i].EnvelopeText()));
        }
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            fatal.Add(reader.GetString(0));
        }
        return fatal;
    }

    /// <summary>
    /// Whether the rule could hold for this JSON at all: without a backslash every JSON key and
    /// string is written literally, so a <c>payload.fatal</c> that reads as <c>true</c> needs both
    /// words in plain sight. Ruling out is all this does; DuckDB decides every other error.
    /// </summary>
    private static bool MayBeFatal(ReadOnlySpan<byte> envelope) =>
        envelope.Contains((byte)'\\')
        || (envelope.IndexOf("fatal"u8) >= 0 && envelope.IndexOf("true"u8) >= 0);
}
