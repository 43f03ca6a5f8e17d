using DuckDB.NET.Data;

namespace Arena.Pipeline.Tests.Infrastructure;

/// <summary>A row of an exported or snapshotted Parquet file, as far as the checks need it.</summary>
internal sealed record ParquetRow(string StreamId, int Partition, string EventId, string RunId, string Type, DateTime Ts, string Envelope, string? Day);

/// <summary>Parquet files read back by an in-process DuckDB, as an analyst's DuckDB, pandas or Polars would read them.</summary>
internal static class ParquetRows
{
    /// <summary>
    /// The rows of <paramref name="pattern"/> (a file or a glob) in file order; with
    /// <paramref name="hive"/>, each with the <c>day</c> of its folder.
    /// </summary>
    public static List<ParquetRow> Read(string pattern, bool hive = false)
    {
        using var connection = new DuckDBConnection("Data Source=:memory:");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = $"""
            SET TimeZone = 'UTC';
            SELECT stream_id, stream_partition, event_id, run_id, type, ts::TIMESTAMP, envelope::VARCHAR, {(hive ? "day::VARCHAR" : "NULL")}
            FROM read_parquet('{pattern.Replace("'", "''", StringComparison.Ordinal)}'{(hive ? ", hive_partitioning = true" : "")})
            """;
        using var reader = command.ExecuteReader();
        var rows = new List<ParquetRow>();
        while (reader.Read())
        {
            rows.Add(new ParquetRow(reader.GetString(0), reader.GetInt32(1), reader.GetString(2), reader.GetString(3), reader.GetString(4),
                reader.GetDateTime(5), reader.GetString(6), reader.IsDBNull(7) ? null : reader.GetString(7)));
        }
        return rows;
    }
}
