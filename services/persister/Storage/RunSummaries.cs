using System.Globalization;
using Arena.Storage;
using DuckDB.NET.Data;

namespace Arena.Persister.Storage;

/// <summary>
/// The <c>runs</c> table: one row per run, kept on write in the batch's own transaction, so
/// that listing runs reads as many rows as there are runs instead of grouping every event.
/// </summary>
internal static class RunSummaries
{
    public const string Schema = """
        CREATE TABLE IF NOT EXISTS runs (
            run_id VARCHAR PRIMARY KEY,
            events BIGINT NOT NULL,
            first_ts TIMESTAMPTZ NOT NULL,
            last_ts TIMESTAMPTZ NOT NULL,
            last_ingested_at TIMESTAMPTZ NOT NULL,
            finished BOOLEAN NOT NULL,
            failed BOOLEAN NOT NULL
        );
        """;

    /// <summary>The status a run's row stands for: a game_end wins over a fatal error.</summary>
    public const string Status = "CASE WHEN finished THEN 'finished' WHEN failed THEN 'failed' ELSE 'running' END";

    private const string BatchTable = "batch_run_events";

    /// <summary>
    /// Fills the table from <c>events</c> when it is empty: a file written before the table
    /// existed, or one whose first fill was cut short (nothing else writes before it).
    /// </summary>
    public static void FillIfEmpty(DuckDBConnection writer)
    {
        using var transaction = writer.BeginTransaction();
        using (var count = writer.CreateCommand())
        {
            count.CommandText = "SELECT count(*) FROM runs";
            if (Convert.ToInt64(count.ExecuteScalar(), CultureInfo.InvariantCulture) > 0)
            {
                return;
            }
        }
        DuckDbFile.Execute(writer, $"INSERT INTO runs {AggregateOf("events")}");
        transaction.Commit();
    }

    /// <summary>
    /// Adds newly stored events to their runs' rows. Only the columns the summary needs go to a
    /// per-batch table (the envelope only for an error, the one type whose payload decides
    /// anything), and the same aggregate as the fill folds them in.
    /// </summary>
    public static void Add(DuckDBConnection writer, IReadOnlyList<StoredEvent> written)
    {
        if (written.Count == 0)
        {
            return;
        }
        DuckDbFile.Execute(writer,
            $"CREATE TEMP TABLE {BatchTable} (run_id VARCHAR, ts TIMESTAMPTZ, ingested_at TIMESTAMPTZ, type VARCHAR, envelope VARCHAR)");
        using (var appender = writer.CreateAppender(BatchTable))
        {
            foreach (var e in written)
            {
                var row = appender.CreateRow().AppendValue(e.Header.RunId).AppendValue(e.Header.Ts).AppendValue(e.IngestedAt).AppendValue(e.Header.Type);
                (e.Header.Type == "error" ? row.AppendValue(e.Envelope) : row.AppendNullValue()).EndRow();
            }
        }
        DuckDbFile.Execute(writer, $"""
            INSERT INTO runs {AggregateOf(BatchTable)}
            ON CONFLICT (run_id) DO UPDATE SET
                events = runs.events + excluded.events,
                first_ts = least(runs.first_ts, excluded.first_ts),
                last_ts = greatest(runs.last_ts, excluded.last_ts),
                last_ingested_at = greatest(runs.last_ingested_at, excluded.last_ingested_at),
                finished = runs.finished OR excluded.finished,
                failed = runs.failed OR excluded.failed
            """);
        // Created and dropped per batch, as the staging table is: emptying a reused one slows every later batch.
        DuckDbFile.Execute(writer, $"DROP TABLE {BatchTable}");
    }

    /// <summary>
    /// One row per run of <paramref name="source"/>, in the table's column order. A fatal error is
    /// an <c>error</c> whose <c>payload.fatal</c> reads as <c>true</c>; no such event (or none
    /// with a <c>fatal</c> at all) is not a failure.
    /// </summary>
    private static string AggregateOf(string source) => $"""
        SELECT run_id, count(*), min(ts), max(ts), max(ingested_at),
               bool_or(type = 'game_end'),
               coalesce(bool_or(type = 'error' AND json_extract_string(envelope, '$.payload.fatal') = 'true'), false)
        FROM {source}
        GROUP BY run_id
        """;
}
