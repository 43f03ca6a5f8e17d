using System.Collections;
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

/// <summary>The persister's DuckDB file in its data folder.</summary>
public static class PersisterFile
{
    /// <summary>Every row of the events table, read from the file directly: only while no persister has it open.</summary>
    public static StoredRows Read(string dataDir)
    {
        using var connection = new DuckDBConnection($"Data Source={Path.Combine(dataDir, "persister.duckdb")};ACCESS_MODE=READ_ONLY");
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
