using Arena.Contracts;
using DuckDB.NET.Data;

namespace Arena.Persister.Storage;

/// <summary>
/// Every run's summary, kept in the persister's memory (it is the only writer of the file):
/// built at start-up from one grouping of every stored event, then advanced by each committed
/// batch's new rows. Kept in listing order, so that the latest runs are the first entries
/// rather than a sort of every run per request.
/// </summary>
public sealed class RunSummaries
{
    /// <summary>Latest <c>ingested_at</c> first, then run_id as DuckDB orders text (byte-wise; run ids are ASCII).</summary>
    private static readonly Comparer<RunSummary> ListingOrder = Comparer<RunSummary>.Create((a, b) =>
    {
        var byTime = b.LastIngestedAt.CompareTo(a.LastIngestedAt);
        return byTime != 0 ? byTime : string.CompareOrdinal(a.RunId, b.RunId);
    });

    private readonly Dictionary<string, RunSummary> _byRun = new(StringComparer.Ordinal);
    private readonly SortedSet<RunSummary> _ordered = new(ListingOrder);

    // The writer loop applies batches while requests list runs; both hold it for microseconds.
    private readonly Lock _lock = new();

    /// <summary>Summarises every event of the file in one pass; run before anything else writes to it.</summary>
    public static RunSummaries Load(DuckDBConnection connection)
    {
        using var command = connection.CreateCommand();
        // The fatal runs are a filtered scan of their own: the envelope is then read for errors
        // only. Folded into the aggregate, every envelope was read (3 of 3.5 s at 10M events).
        command.CommandText = $"""
            SELECT run_id, count(*), min(ts), max(ts), max(ingested_at),
                   bool_or(type = '{EventTypes.GameEnd}'),
                   run_id IN (SELECT run_id FROM events WHERE {RunSummary.IsFatalError("type", "envelope")})
            FROM events
            GROUP BY run_id
            """;
        using var reader = command.ExecuteReader();
        var runs = new List<RunSummary>();
        while (reader.Read())
        {
            runs.Add(new RunSummary(reader.GetString(0), reader.GetInt64(1), Utc(reader.GetDateTime(2)), Utc(reader.GetDateTime(3)),
                Utc(reader.GetDateTime(4)), reader.GetBoolean(5), reader.GetBoolean(6)));
        }
        var summaries = new RunSummaries();
        summaries.Apply(runs);
        return summaries;
    }

    /// <summary>Folds in what a committed batch added (<see cref="RunChanges"/>).</summary>
    public void Apply(IReadOnlyCollection<RunSummary> changes)
    {
        lock (_lock)
        {
            foreach (var change in changes)
            {
                var merged = change;
                if (_byRun.TryGetValue(change.RunId, out var known))
                {
                    _ordered.Remove(known);
                    merged = known.Merge(change);
                }
                _byRun[merged.RunId] = merged;
                _ordered.Add(merged);
            }
        }
    }

    /// <summary>The <paramref name="limit"/> runs with the latest events, in listing order.</summary>
    public IReadOnlyList<RunSummary> Latest(int limit)
    {
        lock (_lock)
        {
            var latest = new List<RunSummary>(Math.Min(limit, _ordered.Count));
            foreach (var run in _ordered)
            {
                if (latest.Count == limit)
                {
                    break;
                }
                latest.Add(run);
            }
            return latest;
        }
    }

    private static DateTimeOffset Utc(DateTime value) =>
        new(DateTime.SpecifyKind(value.Kind == DateTimeKind.Local ? value.ToUniversalTime() : value, DateTimeKind.Utc));
}
