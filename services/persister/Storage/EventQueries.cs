using System.Globalization;
using System.Text.Json;
using Arena.Contracts;
using DuckDB.NET.Data;

namespace Arena.Persister.Storage;

/// <summary>Read-side queries over the event store, each on its own connection, and the runs kept in memory.</summary>
public sealed class EventQueries(EventStore store)
{
    /// <summary>The <paramref name="limit"/> runs with the latest events, from the summaries kept in memory.</summary>
    public IReadOnlyList<RunSummary> Runs(int limit) => store.Runs.Latest(limit);

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
