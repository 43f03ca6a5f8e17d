using System.Collections;
using System.Diagnostics;
using System.Globalization;
using Arena.Contracts;
using DuckDB.NET.Data;

namespace Arena.Harness;

/// <summary>A row of the persister's events table, as far as the checks need it.</summary>
public sealed record StoredRow(string EventId, string RunId, int Partition, StreamId StreamId);

/// <summary>The rows of the persister's events table.</summary>
public sealed class StoredRows(IReadOnlyList<StoredRow> rows) : IReadOnlyList<StoredRow>
{
    /// <summary>The rows of producers' events, without the pipeline's own (leaderboard_updated, stream_overflow).</summary>
    public StoredRows Produced => new([.. rows.Where(r => r.RunId != PipelineRun.Id)]);

    public HashSet<string> EventIds => [.. rows.Select(r => r.EventId)];

    /// <summary>Distinct keys (partition, stream ID): each row's own when nothing is doubled.</summary>
    public int DistinctStreamIds => rows.Select(r => (r.Partition, r.StreamId)).Distinct().Count();

    public int Count => rows.Count;
    public StoredRow this[int index] => rows[index];
    public IEnumerator<StoredRow> GetEnumerator() => rows.GetEnumerator();
    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}

/// <summary>An envelope that <see cref="PersisterFile.Fill"/> repeats, with the columns it takes from it.</summary>
public sealed record FillSample(string Type, int SchemaVersion, string Envelope);

/// <summary>The persister's DuckDB file in its data folder.</summary>
public static class PersisterFile
{
    public const string FileName = "persister.duckdb";

    private const int RowsPerFillStatement = 1_000_000;

    /// <summary>
    /// Fills the file of <paramref name="dataDir"/>, which a persister has created (its schema in
    /// place) and no process holds, with <paramref name="events"/> events of
    /// <paramref name="runIds"/> played <paramref name="concurrent"/> at a time, their events
    /// interleaved as they would arrive, four to a millisecond from 30 days ago, 250 µs apart in
    /// <c>ts</c>; envelopes are the <paramref name="samples"/> in turn. The rows are made by DuckDB
    /// from <c>range()</c> straight into the persister's schema: the fill is setup, and the appender
    /// row by row took minutes. <paramref name="progress"/> hears of the rows stored every few seconds.
    /// </summary>
    public static void Fill(string dataDir, long events, IReadOnlyList<string> runIds, IReadOnlyList<FillSample> samples, int concurrent = 100,
        Action<long>? progress = null)
    {
        var runs = runIds.Count;
        var perWave = Math.Max(events / runs * concurrent, 1);
        var startMs = DateTimeOffset.UtcNow.AddDays(-30).ToUnixTimeMilliseconds();

        using var connection = new DuckDBConnection($"Data Source={Path.Combine(dataDir, FileName)}");
        connection.Open();
        // UTC, so that epoch_ms() stores the instants meant whatever the machine's zone.
        Execute(connection, """
            SET TimeZone = 'UTC';
            CREATE TEMP TABLE samples (sample INTEGER, type VARCHAR, schema_version INTEGER, envelope VARCHAR);
            CREATE TEMP TABLE run_ids (run INTEGER, run_id VARCHAR);
            """);
        using (var appender = connection.CreateAppender("samples"))
        {
            for (var i = 0; i < samples.Count; i++)
            {
                appender.CreateRow().AppendValue(i).AppendValue(samples[i].Type).AppendValue(samples[i].SchemaVersion).AppendValue(samples[i].Envelope).EndRow();
            }
        }
        using (var appender = connection.CreateAppender("run_ids"))
        {
            for (var i = 0; i < runs; i++)
            {
                appender.CreateRow().AppendValue(i).AppendValue(runIds[i]).EndRow();
            }
        }
        var clock = Stopwatch.StartNew();
        for (long from = 0; from < events; from += RowsPerFillStatement)
        {
            var to = Math.Min(from + RowsPerFillStatement, events);
            Execute(connection, string.Create(CultureInfo.InvariantCulture, $"""
                INSERT INTO events
                SELECT 0, {startMs} + i // 4, i % 4, r.run_id || ':' || i, r.run_id, i // {concurrent}, s.type, s.schema_version,
                       epoch_ms({startMs}) + to_microseconds(i * 250), epoch_ms({startMs}) + to_microseconds(i * 250), s.envelope, NULL
                FROM range({from}, {to}) t(i)
                JOIN run_ids r ON r.run = least(i // {perWave} * {concurrent} + i % {concurrent}, {runs - 1})
                JOIN samples s ON s.sample = i % {samples.Count}
                """));
            if (clock.Elapsed > TimeSpan.FromSeconds(5))
            {
                progress?.Invoke(to);
                clock.Restart();
            }
        }
        Execute(connection, "CHECKPOINT");
    }

    private static void Execute(DuckDBConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    /// <summary>Every row of the events table, read from the file directly: only while no persister has it open.</summary>
    public static StoredRows Read(string dataDir)
    {
        using var connection = new DuckDBConnection($"Data Source={Path.Combine(dataDir, FileName)};ACCESS_MODE=READ_ONLY");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT event_id, run_id, stream_partition, stream_ms, stream_seq FROM events";
        using var reader = command.ExecuteReader();
        var rows = new List<StoredRow>();
        while (reader.Read())
        {
            rows.Add(new StoredRow(reader.GetString(0), reader.GetString(1), reader.GetInt32(2), new StreamId(reader.GetInt64(3), reader.GetInt64(4))));
        }
        return new StoredRows(rows);
    }
}
