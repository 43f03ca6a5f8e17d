using Arena.Storage;
using DuckDB.NET.Data;

namespace Arena.Pipeline.Tests;

/// <summary>How a service's DuckDB file is opened: its row group size, and files written before it was set.</summary>
public sealed class DuckDbFileTests
{
    private const string Schema = "CREATE TABLE IF NOT EXISTS t (id BIGINT PRIMARY KEY, s VARCHAR NOT NULL);";

    private readonly string _dir = Repo.NewTempDir("duckdb-file");

    private static long Scalar(DuckDBConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }

    private static void Append(DuckDbFile file, long from, int count) =>
        file.AppendIdempotent("t", Enumerable.Range(0, count).Select(i => from + i).ToList(),
            static (row, id) => row.AppendValue(id).AppendValue($"row {id}"));

    [Fact]
    public void Rows_written_through_the_file_go_in_row_groups_of_RowGroupSize()
    {
        using (var file = DuckDbFile.Open(_dir, "t.duckdb", Schema, "test"))
        {
            Append(file, 0, 40_000);
            DuckDbFile.Execute(file.Writer, "CHECKPOINT");
            using var reader = file.OpenReader();
            // 16,384 + 16,384 + 7,232 rows; DuckDB's default (122,880) would make one.
            Assert.Equal((40_000 + DuckDbFile.RowGroupSize - 1) / DuckDbFile.RowGroupSize,
                Scalar(reader, "SELECT count(DISTINCT row_group_id) FROM pragma_storage_info('t')"));
            Assert.Equal(DuckDbFile.RowGroupSize, Scalar(reader, "SELECT max(count) FROM pragma_storage_info('t')"));
        }
    }

    [Fact]
    public void Spills_go_beside_the_file_and_readers_share_the_writers_instance()
    {
        using var file = DuckDbFile.Open(_dir, "t.duckdb", Schema, "test");
        Append(file, 0, 10);
        using var reader = file.OpenReader();
        using var command = reader.CreateCommand();
        command.CommandText = "SELECT current_setting('temp_directory')";
        Assert.Equal(file.Path + ".tmp", command.ExecuteScalar());
        Assert.Equal(10, Scalar(reader, "SELECT count(*) FROM t"));
    }

    [Fact]
    public void DuckDB_runs_one_thread_fewer_than_the_cores_unless_told_how_many()
    {
        using (var file = DuckDbFile.Open(_dir, "a.duckdb", Schema, "test"))
        {
            Assert.Equal(Math.Max(1, Environment.ProcessorCount - 1), Scalar(file.Writer, "SELECT current_setting('threads')"));
        }
        using (var file = DuckDbFile.Open(_dir, "b.duckdb", Schema, "test", new DuckDbOptions { DuckDbThreads = 3 }))
        {
            using var reader = file.OpenReader();
            Assert.Equal(3, Scalar(reader, "SELECT current_setting('threads')"));
        }
    }

    [Fact]
    public void A_file_written_with_DuckDBs_default_row_groups_opens_and_takes_more_rows()
    {
        var path = Path.Combine(_dir, "t.duckdb");
        using (var plain = new DuckDBConnection($"Data Source={path}"))
        {
            plain.Open();
            DuckDbFile.Execute(plain, Schema);
            // One row group, larger than RowGroupSize and not full.
            DuckDbFile.Execute(plain, "INSERT INTO t SELECT range, 'old' FROM range(40000)");
        }

        using (var file = DuckDbFile.Open(_dir, "t.duckdb", Schema, "test"))
        {
            for (var batch = 0; batch < 30; batch++)
            {
                Append(file, 40_000 + batch * 1_000, 1_000);
            }
            DuckDbFile.Execute(file.Writer, "CHECKPOINT");
            using var reader = file.OpenReader();
            Assert.Equal(70_000, Scalar(reader, "SELECT count(*) FROM t"));
        }

        using var again = new DuckDBConnection($"Data Source={path};ACCESS_MODE=READ_ONLY");
        again.Open();
        Assert.Equal(70_000, Scalar(again, "SELECT count(DISTINCT id) FROM t"));
        Assert.Equal(40_000, Scalar(again, "SELECT count(*) FROM t WHERE s = 'old'"));
    }
}
