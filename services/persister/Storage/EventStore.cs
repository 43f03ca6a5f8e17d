using System.Data;
using Arena.ServiceDefaults;
using DuckDB.NET.Data;

namespace Arena.Persister.Storage;

/// <summary>
/// The persister's DuckDB file: the only process that opens it, one long-lived writer
/// connection, one batch per transaction, idempotent on (partition, stream ID).
/// </summary>
public sealed class EventStore : IDisposable
{
    public const string FileName = "persister.duckdb";

    private const string Schema = """
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
            PRIMARY KEY (stream_partition, stream_ms, stream_seq)
        );
        """;

    private readonly string _connectionString;
    private readonly DuckDBConnection _writer;

    private EventStore(string path)
    {
        Path = path;
        _connectionString = $"Data Source={path}";
        _writer = new DuckDBConnection(_connectionString);
        _writer.Open();
        Execute(_writer, Schema);
    }

    public string Path { get; }

    /// <summary>Opens (or creates) the file; fails with a clear message when another process holds it.</summary>
    public static EventStore Open(string dataDir)
    {
        Directory.CreateDirectory(dataDir);
        var path = System.IO.Path.GetFullPath(System.IO.Path.Combine(dataDir, FileName));
        try
        {
            return new EventStore(path);
        }
        catch (DuckDBException e)
        {
            throw new ServiceStartupException(
                $"Cannot open the event store {path}: {e.Message}. Only one persister process may open the file.", e);
        }
    }

    /// <summary>
    /// Writes a batch in one transaction and returns how many rows were new. The fast path
    /// appends every row; if any row is already stored (a redelivery), the transaction is
    /// rolled back and the batch goes through a staging table and
    /// <c>INSERT … ON CONFLICT DO NOTHING</c>, which skips the stored rows.
    /// </summary>
    public WriteResult Write(IReadOnlyList<StoredEvent> batch)
    {
        if (batch.Count == 0)
        {
            return new WriteResult(0, UsedFallback: false);
        }
        using (var transaction = _writer.BeginTransaction())
        {
            try
            {
                Append(batch, "events");
                transaction.Commit();
                return new WriteResult(batch.Count, UsedFallback: false);
            }
            catch (DuckDBException e) when (IsDuplicateKey(e))
            {
                transaction.Rollback();
            }
        }

        using (var transaction = _writer.BeginTransaction())
        {
            Execute(_writer, "CREATE TEMP TABLE staging AS SELECT * FROM events LIMIT 0");
            Append(batch, "staging");
            var inserted = Execute(_writer, "INSERT INTO events SELECT * FROM staging ON CONFLICT DO NOTHING");
            // Created and dropped per batch: emptying a reused staging table slows every later batch.
            Execute(_writer, "DROP TABLE staging");
            transaction.Commit();
            return new WriteResult(inserted, UsedFallback: true);
        }
    }

    private void Append(IReadOnlyList<StoredEvent> batch, string table)
    {
        using var appender = _writer.CreateAppender(table);
        foreach (var e in batch)
        {
            appender.CreateRow()
                .AppendValue(e.Partition)
                .AppendValue(e.StreamId.Milliseconds)
                .AppendValue(e.StreamId.Sequence)
                .AppendValue(e.Header.EventId)
                .AppendValue(e.Header.RunId)
                .AppendValue(e.Header.Seq)
                .AppendValue(e.Header.Type)
                .AppendValue(e.Header.SchemaVersion)
                .AppendValue(e.Header.Ts)
                .AppendValue(e.IngestedAt)
                .AppendValue(e.Envelope)
                .EndRow();
        }
    }

    /// <summary>A connection for queries, sharing the database instance the writer opened.</summary>
    public DuckDBConnection OpenReader()
    {
        var connection = new DuckDBConnection(_connectionString);
        connection.Open();
        return connection;
    }

    private static bool IsDuplicateKey(DuckDBException e) =>
        e.Message.Contains("Duplicate key", StringComparison.OrdinalIgnoreCase)
        || e.Message.Contains("PRIMARY KEY", StringComparison.OrdinalIgnoreCase);

    private static int Execute(DuckDBConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteNonQuery();
    }

    public void Dispose()
    {
        if (_writer.State == ConnectionState.Open)
        {
            Execute(_writer, "CHECKPOINT");
        }
        _writer.Dispose();
    }
}

public readonly record struct WriteResult(int Inserted, bool UsedFallback);
