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
    /// Reads up to <paramref name="rows"/> events of a run after <paramref name="after"/>, in
    /// stream order, each envelope with its <c>stream_id</c> and <c>producer</c>; keeps no more
    /// once the envelopes kept reach <paramref name="maxChars"/> (after at least one).
    /// </summary>
    public EventChunk ReadRunEvents(string runId, StreamId after, int rows, long maxChars)
    {
        using var connection = store.OpenReader();
        using var command = connection.CreateCommand();
        // DuckDB hands over the result whole: its LIMIT, sized per chunk by the caller, is what bounds it.
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
        command.Parameters.Add(new DuckDBParameter("limit", rows));
        using var reader = command.ExecuteReader();
        var envelopes = new List<string>();
        StreamId? last = null;
        long chars = 0;
        var read = 0;
        while (reader.Read())
        {
            read++;
            if (chars >= maxChars)
            {
                continue;
            }
            var id = new StreamId(reader.GetInt64(0), reader.GetInt64(1));
            var envelope = CanonicalEnvelope.WithStreamId(reader.GetString(2), id.ToString(), reader.IsDBNull(3) ? null : reader.GetString(3));
            envelopes.Add(envelope);
            chars += envelope.Length;
            last = id;
        }
        return new EventChunk(envelopes, last, chars, Exhausted: read < rows && envelopes.Count == read);
    }

    /// <summary>Exports a run to the Parquet file <paramref name="path"/>.</summary>
    public void ExportParquet(string runId, string path)
    {
        using var connection = store.OpenReader();
        using var command = connection.CreateCommand();
        // COPY takes no parameters; the run id is validated against [A-Za-z0-9._:-] before it gets here.
        command.CommandText = $"""
            COPY (SELECT stream_partition, stream_ms, stream_seq, event_id, run_id, seq, type, schema_version, ts, ingested_at, envelope, producer
                  FROM events WHERE run_id = '{runId}' ORDER BY stream_ms, stream_seq)
            TO '{path.Replace("'", "''", StringComparison.Ordinal)}' (FORMAT parquet)
            """;
        command.ExecuteNonQuery();
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
