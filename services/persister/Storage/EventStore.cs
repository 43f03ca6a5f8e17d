using System.Text;
using System.Text.Unicode;
using Arena.Storage;
using DuckDB.NET.Data;

namespace Arena.Persister.Storage;

/// <summary>
/// The persister's DuckDB file: the only process that opens it; one batch per transaction,
/// idempotent on (partition, stream ID); every run's summary kept in memory beside it.
/// </summary>
public sealed class EventStore(DuckDbFile file, RunSummaries runs) : IDisposable
{
    public const string FileName = "persister.duckdb";

    public const string Schema = """
        CREATE TABLE IF NOT EXISTS events (
            stream_partition INTEGER NOT NULL,
            stream_ms BIGINT NOT NULL,
            stream_seq BIGINT NOT NULL,
            event_id VARCHAR NOT NULL,
            run_id VARCHAR NOT NULL,
            seq BIGINT NOT NULL,
            type VARCHAR NOT NULL,
            schema_version INTEGER NOT NULL,
            ts TIMESTAMPTZ NOT NULL,
            ingested_at TIMESTAMPTZ NOT NULL,
            envelope JSON NOT NULL,
            producer VARCHAR,
            PRIMARY KEY (stream_partition, stream_ms, stream_seq)
        );
        -- Files written before producers were recorded: their rows keep a NULL producer.
        ALTER TABLE events ADD COLUMN IF NOT EXISTS producer VARCHAR;
        """;

    public string Path => file.Path;

    public DuckDbFile File => file;

    public static EventStore Open(string dataDir, DuckDbOptions? options = null)
    {
        var file = DuckDbFile.Open(dataDir, FileName, Schema, "persister", options);
        return new EventStore(file, RunSummaries.Load(file.Writer));
    }

    public RunSummaries Runs => runs;

    /// <summary>Writes a batch in one transaction, then adds its new rows to their runs' summaries; returns how many rows were new.</summary>
    public int Write(IReadOnlyList<StoredEvent> batch)
    {
        IReadOnlyCollection<RunSummary>? changes = null;
        var inserted = file.AppendIdempotent("events", batch, static (row, e) => AppendJson(row
                .AppendValue(e.Partition)
                .AppendValue(e.StreamId.Milliseconds)
                .AppendValue(e.StreamId.Sequence)
                .AppendValue(e.Header.EventId)
                .AppendValue(e.Header.RunId)
                .AppendValue(e.Header.Seq)
                .AppendValue(e.Header.Type)
                .AppendValue(e.Header.SchemaVersion)
                .AppendValue(e.Header.Ts)
                .AppendValue(e.IngestedAt), e.Envelope)
            .AppendValue(e.Producer),
            written => changes = RunChanges.Of(written, file.Writer));
        // Applied only now that the batch has committed: the callback runs before the commit,
        // which may still fail, or give way to the fallback path, which calls it again.
        if (changes is not null)
        {
            runs.Apply(changes);
        }
        return inserted;
    }

    /// <summary>
    /// Hands DuckDB the JSON's UTF-8 as it is, with no .NET string between (a decode, an encode and
    /// two copies per event). Bytes that are not valid UTF-8, or that hold a NUL, go as the string
    /// they decode to, whose text DuckDB takes up to a NUL: what is stored is that text either way.
    /// </summary>
    private static IDuckDBAppenderRow AppendJson(IDuckDBAppenderRow row, byte[] json) =>
        Utf8.IsValid(json) && !json.AsSpan().Contains((byte)0) ? row.AppendValue(json) : row.AppendValue(Encoding.UTF8.GetString(json));

    /// <summary>A connection for queries, sharing the database instance the writer opened.</summary>
    public DuckDBConnection OpenReader() => file.OpenReader();

    public void Dispose() => file.Dispose();
}
