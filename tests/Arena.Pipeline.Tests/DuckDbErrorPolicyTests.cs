using Arena.Storage;
using DuckDB.NET.Data;

namespace Arena.Pipeline.Tests;

/// <summary>
/// Which DuckDB failures a consumer waits out (the group pauses and retries the batch) and
/// which go the dead-letter way, provoked in a real DuckDB file.
/// </summary>
public sealed class DuckDbErrorPolicyTests : IDisposable
{
    private readonly string _dir = Repo.NewTempDir("duckdb-errors");
    private readonly DuckDbFile _file;

    public DuckDbErrorPolicyTests() =>
        _file = DuckDbFile.Open(_dir, "errors.duckdb", "CREATE TABLE block_list (id INTEGER PRIMARY KEY, name VARCHAR NOT NULL);", "test");

    private DuckDBException Fails(string sql) =>
        Assert.Throws<DuckDBException>(() => DuckDbFile.Execute(_file.Writer, sql));

    [Fact]
    public void Disk_and_memory_failures_are_transient()
    {
        Assert.True(DuckDbFile.IsTransient(Fails($"COPY (SELECT 1) TO '{Path.Combine(_dir, "missing", "out.csv")}'")));
        DuckDbFile.Execute(_file.Writer, "SET memory_limit = '2MB'");
        Assert.True(DuckDbFile.IsTransient(Fails("CREATE TABLE big AS SELECT range::VARCHAR || repeat('x', 100) AS s FROM range(3000000) ORDER BY s DESC")));
        DuckDbFile.Execute(_file.Writer, "RESET memory_limit");
        Assert.True(DuckDbFile.IsTransient(new IOException("disk full")));
    }

    [Fact]
    public void Errors_of_the_data_are_not_transient_whatever_their_message_says()
    {
        // The message quotes the table: "block_list" holds "lock", which a text match took for a lock error.
        Assert.False(DuckDbFile.IsTransient(Fails("INSERT INTO block_list VALUES (1, NULL)")));
        DuckDbFile.Execute(_file.Writer, "INSERT INTO block_list VALUES (1, 'a')");
        Assert.False(DuckDbFile.IsTransient(Fails("INSERT INTO block_list VALUES (1, 'lock')")));
        Assert.False(DuckDbFile.IsTransient(Fails("SELECT CAST('IO Error' AS INTEGER) FROM block_list")));
        Assert.False(DuckDbFile.IsTransient(Fails("SELECT * FROM block_list_of_io_errors")));
    }

    [Fact]
    public void A_batch_partly_stored_before_stores_and_reports_only_its_new_rows()
    {
        IReadOnlyList<(int Id, string Name)> written = [];
        var rows = new List<(int Id, string Name)> { (1, "a"), (2, "b") };
        Assert.Equal(2, _file.AppendIdempotent("block_list", rows, static (r, x) => r.AppendValue(x.Id).AppendValue(x.Name), w => written = w));
        Assert.Equal(rows, written);
        rows.Add((3, "c"));
        Assert.Equal(1, _file.AppendIdempotent("block_list", rows, static (r, x) => r.AppendValue(x.Id).AppendValue(x.Name), w => written = w));
        Assert.Equal([(3, "c")], written);
    }

    public void Dispose()
    {
        _file.Dispose();
        Directory.Delete(_dir, recursive: true);
    }
}
