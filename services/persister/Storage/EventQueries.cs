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
    /// The columns of every tabular export (CSV, Parquet, snapshots): the table's, with the
    /// stream ID also as text first. <c>stream_ms</c>, <c>stream_seq</c> are there to sort by.
    /// </summary>
    public const string ExportColumns = """
        stream_ms::VARCHAR || '-' || stream_seq::VARCHAR AS stream_id, stream_partition, stream_ms, stream_seq,
        event_id, run_id, seq, type, schema_version, ts, ingested_at, producer, envelope
        """;

    /// <summary>The store's order: stream ID, numerically, then partition (<see cref="EventCursor"/>).</summary>
    public const string StoreOrder = "stream_ms, stream_seq, stream_partition";

    /// <summary>
    /// Reads up to <paramref name="rows"/> events matching <paramref name="filter"/> after
    /// <paramref name="after"/>, in the store's order; keeps no more once the envelopes kept reach
    /// <paramref name="maxChars"/> (after at least one).
    /// </summary>
    public EventChunk ReadEvents(EventFilter filter, EventCursor after, int rows, long maxChars, long beforeMs = long.MaxValue)
    {
        using var connection = store.OpenReader();
        using var command = connection.CreateCommand();
        // DuckDB hands over the result whole: its LIMIT, sized per chunk by the caller, is what bounds it.
        command.CommandText = $"""
            SELECT stream_partition, stream_ms, stream_seq, event_id, run_id, seq, type, schema_version,
                   epoch_us(ts), epoch_us(ingested_at), envelope::VARCHAR, producer
            FROM events
            WHERE {filter.Sql()} AND {after.Sql()} AND stream_ms < {beforeMs}
            ORDER BY {StoreOrder}
            LIMIT {rows}
            """;
        using var reader = command.ExecuteReader();
        var kept = new List<EventRow>();
        long chars = 0;
        var read = 0;
        while (reader.Read())
        {
            read++;
            if (chars >= maxChars)
            {
                continue;
            }
            var row = new EventRow(reader.GetInt32(0), new StreamId(reader.GetInt64(1), reader.GetInt64(2)), reader.GetString(3),
                reader.GetString(4), reader.GetInt64(5), reader.GetString(6), reader.GetInt32(7), Instant(reader.GetInt64(8)),
                Instant(reader.GetInt64(9)), reader.GetString(10), reader.IsDBNull(11) ? null : reader.GetString(11));
            kept.Add(row);
            chars += row.Envelope.Length;
        }
        var last = kept.Count == 0 ? (EventCursor?)null : new EventCursor(kept[^1].StreamId, kept[^1].Partition);
        return new EventChunk(kept, last, chars, Exhausted: read < rows && kept.Count == read);
    }

    /// <summary>The first and last stream milliseconds of the events matching <paramref name="filter"/>, and how many there are.</summary>
    public (long First, long Last, long Count) Span(EventFilter filter)
    {
        using var connection = store.OpenReader();
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT coalesce(min(stream_ms), 0), coalesce(max(stream_ms), -1), count(*) FROM events WHERE {filter.Sql()}";
        using var reader = command.ExecuteReader();
        reader.Read();
        return (reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2));
    }

    /// <summary>Exports the events matching <paramref name="filter"/>, in the store's order, to the Parquet file <paramref name="path"/>.</summary>
    public void ExportParquet(EventFilter filter, string path)
    {
        using var connection = store.OpenReader();
        using var command = connection.CreateCommand();
        command.CommandText = $"""
            COPY (SELECT {ExportColumns} FROM events WHERE {filter.Sql()} ORDER BY {StoreOrder})
            TO {Quoted(path)} (FORMAT parquet)
            """;
        command.ExecuteNonQuery();
    }

    /// <summary>A string literal for SQL.</summary>
    public static string Quoted(string text) => $"'{text.Replace("'", "''", StringComparison.Ordinal)}'";

    private static DateTimeOffset Instant(long microseconds) => DateTimeOffset.UnixEpoch.AddTicks(microseconds * TimeSpan.TicksPerMicrosecond);
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
