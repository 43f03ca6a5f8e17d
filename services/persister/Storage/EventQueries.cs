using System.Globalization;
using System.Text.Json;
using Arena.Contracts;
using DuckDB.NET.Data;

namespace Arena.Persister.Storage;

public sealed record RunSummary(string RunId, long Events, DateTimeOffset FirstTs, DateTimeOffset LastTs, string Status);

/// <summary>Read-side queries over the event store, each on its own connection.</summary>
public sealed class EventQueries(EventStore store)
{
    public IReadOnlyList<RunSummary> Runs(int limit)
    {
        using var connection = store.OpenReader();
        using var command = connection.CreateCommand();
        command.CommandText = $"""
            SELECT run_id, events, first_ts, last_ts, {RunSummaries.Status}
            FROM runs
            ORDER BY last_ingested_at DESC, run_id
            LIMIT $limit
            """;
        command.Parameters.Add(new DuckDBParameter("limit", limit));
        using var reader = command.ExecuteReader();
        var runs = new List<RunSummary>();
        while (reader.Read())
        {
            runs.Add(new RunSummary(reader.GetString(0), reader.GetInt64(1), Utc(reader.GetDateTime(2)), Utc(reader.GetDateTime(3)), reader.GetString(4)));
        }
        return runs;
    }

    /// <summary>
    /// Writes up to <paramref name="limit"/> events of a run after <paramref name="after"/>, in
    /// stream order, each envelope with its <c>stream_id</c> and <c>producer</c>; returns the last ID written.
    /// </summary>
    public StreamId? WriteRunEvents(string runId, StreamId after, int limit, Action<string> write)
    {
        using var connection = store.OpenReader();
        using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT stream_ms, stream_seq, envelope::VARCHAR, producer
            FROM events
            WHERE run_id = $run AND (stream_ms > $ms OR (stream_ms = $ms AND stream_seq > $seq))
            ORDER BY stream_ms, stream_seq
            LIMIT $limit
            """;
        command.Parameters.Add(new DuckDBParameter("run", runId));
        command.Parameters.Add(new DuckDBParameter("ms", after.Milliseconds));
        command.Parameters.Add(new DuckDBParameter("seq", after.Sequence));
        command.Parameters.Add(new DuckDBParameter("limit", limit));
        using var reader = command.ExecuteReader();
        StreamId? last = null;
        while (reader.Read())
        {
            var id = new StreamId(reader.GetInt64(0), reader.GetInt64(1));
            write(CanonicalEnvelope.WithStreamId(reader.GetString(2), id.ToString(), reader.IsDBNull(3) ? null : reader.GetString(3)));
            last = id;
        }
        return last;
    }

    /// <summary>Exports a run to a Parquet file in <paramref name="directory"/> and returns its path.</summary>
    public string ExportParquet(string runId, string directory)
    {
        var path = Path.Combine(directory, string.Create(CultureInfo.InvariantCulture, $"export-{Guid.NewGuid():N}.parquet"));
        using var connection = store.OpenReader();
        using var command = connection.CreateCommand();
        // COPY takes no parameters; the run id is validated against [A-Za-z0-9._:-] before it gets here.
        command.CommandText = $"""
            COPY (SELECT stream_partition, stream_ms, stream_seq, event_id, run_id, seq, type, schema_version, ts, ingested_at, envelope, producer
                  FROM events WHERE run_id = '{runId}' ORDER BY stream_ms, stream_seq)
            TO '{path}' (FORMAT parquet)
            """;
        command.ExecuteNonQuery();
        return path;
    }

    private static DateTimeOffset Utc(DateTime value) =>
        new(DateTime.SpecifyKind(value.Kind == DateTimeKind.Local ? value.ToUniversalTime() : value, DateTimeKind.Utc));
}

internal static class JsonWriting
{
    public static void WriteRun(this Utf8JsonWriter writer, RunSummary run)
    {
        writer.WriteStartObject();
        writer.WriteString("run_id", run.RunId);
        writer.WriteNumber("events", run.Events);
        writer.WriteString("first_ts", run.FirstTs);
        writer.WriteString("last_ts", run.LastTs);
        writer.WriteString("status", run.Status);
        writer.WriteEndObject();
    }
}
