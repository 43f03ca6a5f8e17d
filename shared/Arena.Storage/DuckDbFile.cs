using System.Data;
using System.Diagnostics.Metrics;
using System.Globalization;
using Arena.ServiceDefaults;
using DuckDB.NET.Data;
using DuckDB.NET.Native;

namespace Arena.Storage;

/// <summary>
/// A service's own DuckDB file: opened by one process only, one long-lived writer connection,
/// readers on connections that share the writer's database instance.
/// </summary>
public sealed class DuckDbFile : IDisposable
{
    /// <summary>
    /// Rows per row group of the rows this process writes (DuckDB's default is 122,880). A
    /// checkpoint rewrites, compressed, every row group that gained rows since the last one, and
    /// appends to the table wait for it; with the default a checkpoint of a few megabytes took
    /// 0.5–1.3 s on 2 cores, at this size 0.1–0.3 s (docs/benchmarks.md). Only a setting of the
    /// attachment: files written with other sizes open as they are.
    /// </summary>
    public const int RowGroupSize = 16_384;

    /// <summary>The name the file is attached under; every connection of this instance uses it.</summary>
    private const string Catalog = "store";

    private DuckDbFile(string path, string schema, DuckDbOptions? options)
    {
        Path = path;
        // An in-memory instance with the file attached, since a row group size can only be given
        // when attaching; readers duplicate this connection, so they share the instance.
        Writer = new DuckDBConnection("Data Source=:memory:");
        Writer.Open();
        try
        {
            // Settings of the database instance, which the readers' connections share. Spills go
            // beside the file, as they do when the file is opened directly (not into the working directory).
            Execute(Writer, $"SET temp_directory = '{Quoted(path + ".tmp")}'");
            Execute(Writer, string.Create(CultureInfo.InvariantCulture,
                $"SET threads = {(options ?? new()).ThreadsOn(Environment.ProcessorCount)}"));
            if (options is { DuckDbMemoryLimit.Length: > 0 })
            {
                Execute(Writer, $"SET memory_limit = '{options.DuckDbMemoryLimit}'");
            }
            Execute(Writer, string.Create(CultureInfo.InvariantCulture,
                $"ATTACH '{Quoted(path)}' AS {Catalog} (ROW_GROUP_SIZE {RowGroupSize})"));
            Execute(Writer, $"USE {Catalog}");
            Execute(Writer, schema);
        }
        catch
        {
            Writer.Dispose();
            throw;
        }
    }

    private static string Quoted(string text) => text.Replace("'", "''", StringComparison.Ordinal);

    public string Path { get; }

    /// <summary>The one connection that writes; use it from one loop only.</summary>
    public DuckDBConnection Writer { get; }

    /// <summary>Opens (or creates) <paramref name="fileName"/> in <paramref name="dataDir"/>; fails with a clear message when another process holds it.</summary>
    public static DuckDbFile Open(string dataDir, string fileName, string schema, string owner, DuckDbOptions? options = null)
    {
        Directory.CreateDirectory(dataDir);
        var path = System.IO.Path.GetFullPath(System.IO.Path.Combine(dataDir, fileName));
        try
        {
            return new DuckDbFile(path, schema, options);
        }
        catch (DuckDBException e)
        {
            throw new ServiceStartupException($"Cannot open {path}: {e.Message}. Only one {owner} process may open the file.", e);
        }
    }

    public DuckDBConnection OpenReader()
    {
        var connection = Writer.Duplicate();
        if (connection.State != ConnectionState.Open)
        {
            connection.Open();
        }
        Execute(connection, $"USE {Catalog}");
        return connection;
    }

    /// <summary>
    /// Exports DuckDB's own account of the memory it holds, by tag (<c>BASE_TABLE</c>,
    /// <c>ART_INDEX</c>, ...), as <c>arena_duckdb_memory_bytes{tag}</c> on the service's meter.
    /// </summary>
    public void ReportMemory(IMeterFactory meters, string meterName) =>
        meters.Create(meterName).CreateObservableGauge("arena.duckdb.memory", MemoryByTag, "By",
            "Memory DuckDB holds for this service's file, by DuckDB's tag");

    /// <summary>
    /// Exports the disk the file lives on, read when scraped: <c>arena_data_dir_free_bytes</c> and
    /// <c>arena_data_dir_size_bytes</c> (the data directory's filesystem: space this process may
    /// still use, and its total), and <c>arena_duckdb_file_bytes</c> (the file with its write-ahead log).
    /// </summary>
    public void ReportDisk(IMeterFactory meters, string meterName)
    {
        var meter = meters.Create(meterName);
        var dataDir = System.IO.Path.GetDirectoryName(Path)!;
        meter.CreateObservableGauge("arena.data_dir.free", () => new DriveInfo(dataDir).AvailableFreeSpace, "By",
            "Free space of the data directory's filesystem that this service may use");
        meter.CreateObservableGauge("arena.data_dir.size", () => new DriveInfo(dataDir).TotalSize, "By",
            "Size of the data directory's filesystem");
        meter.CreateObservableGauge("arena.duckdb.file", () => FileBytes(Path) + FileBytes(Path + ".wal"), "By",
            "Size of this service's DuckDB file and its write-ahead log");
    }

    private static long FileBytes(string path)
    {
        var file = new FileInfo(path);
        return file.Exists ? file.Length : 0;
    }

    private List<Measurement<long>> MemoryByTag()
    {
        var measurements = new List<Measurement<long>>();
        try
        {
            using var connection = OpenReader();
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT tag, memory_usage_bytes FROM duckdb_memory() WHERE memory_usage_bytes > 0";
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                measurements.Add(new Measurement<long>(reader.GetInt64(1), new KeyValuePair<string, object?>("tag", reader.GetString(0))));
            }
        }
        catch (Exception e) when (e is DuckDBException or InvalidOperationException)
        {
            // Closed while the service stops: nothing to report.
        }
        return measurements;
    }

    /// <summary>
    /// The size of the write-ahead log at which DuckDB checkpoints by itself, inside the commit
    /// that crosses it (DuckDB's <c>checkpoint_threshold</c>, 16 MiB by default); a setting of the
    /// database instance. Set it before the writer's loop starts: it runs on the writer's connection.
    /// </summary>
    public void SetCheckpointThreshold(long bytes) =>
        Execute(Writer, string.Create(CultureInfo.InvariantCulture, $"SET checkpoint_threshold = '{bytes / 1024}KiB'"));

    /// <summary>
    /// Writes the write-ahead log into the file (<c>CHECKPOINT</c>) on a connection of its own,
    /// beside the writer, when the log has reached <paramref name="walBytes"/>; true when it did.
    /// The writer goes on committing meanwhile.
    /// </summary>
    public bool CheckpointIfWalReaches(long walBytes)
    {
        if (FileBytes(Path + ".wal") < walBytes)
        {
            return false;
        }
        using var connection = OpenReader();
        Execute(connection, "CHECKPOINT");
        return true;
    }

    public static int Execute(DuckDBConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteNonQuery();
    }

    /// <summary>
    /// Appends <paramref name="rows"/> to <paramref name="table"/> in the writer's current
    /// transaction scope, idempotently on the table's primary key, and returns how many rows
    /// were new. The fast path appends every row in one transaction; if any row is already
    /// stored (a redelivery), that transaction is rolled back and the rows go through a
    /// staging table and <c>INSERT … ON CONFLICT DO NOTHING</c>. <paramref name="written"/>, if
    /// given, hears of exactly the rows that are new, inside the transaction and before its
    /// commit: it may be called twice (the fast path, then the fallback) and the commit may still
    /// fail, so act on what its last call derived only after this method has returned.
    /// </summary>
    public int AppendIdempotent<T>(string table, IReadOnlyList<T> rows, Action<IDuckDBAppenderRow, T> fill, Action<IReadOnlyList<T>>? written = null)
    {
        if (rows.Count == 0)
        {
            return 0;
        }
        using (var transaction = Writer.BeginTransaction())
        {
            try
            {
                Append(table, rows, fill);
                written?.Invoke(rows);
                transaction.Commit();
                return rows.Count;
            }
            catch (DuckDBException e) when (IsDuplicateKey(e))
            {
                transaction.Rollback();
            }
        }

        using (var transaction = Writer.BeginTransaction())
        {
            var staging = $"staging_{table}";
            Execute(Writer, $"CREATE TEMP TABLE {staging} AS SELECT * FROM {table} LIMIT 0");
            Append(staging, rows, fill);
            if (written is not null)
            {
                written(NotYetStored(table, staging, rows));
            }
            var inserted = Execute(Writer, $"INSERT INTO {table} SELECT * FROM {staging} ON CONFLICT DO NOTHING");
            // Created and dropped per batch: emptying a reused staging table slows every later batch.
            Execute(Writer, $"DROP TABLE {staging}");
            transaction.Commit();
            return inserted;
        }
    }

    /// <summary>
    /// The rows of <paramref name="staging"/> whose primary key <paramref name="table"/> does not
    /// hold: an anti-join on the key, read back by staging row id. A table filled by one
    /// appender numbers its rows in order, from a base that is far from 0 while the rows are
    /// the transaction's own (2^55 and up): a row's position in <paramref name="rows"/> is its
    /// row id less the smallest.
    /// </summary>
    private List<T> NotYetStored<T>(string table, string staging, IReadOnlyList<T> rows)
    {
        using var command = Writer.CreateCommand();
        command.CommandText = $"SELECT s.rowid - (SELECT min(rowid) FROM {staging}) FROM {staging} s ANTI JOIN {table} t USING ({string.Join(", ", PrimaryKey(table))}) ORDER BY s.rowid";
        using var reader = command.ExecuteReader();
        var fresh = new List<T>();
        while (reader.Read())
        {
            fresh.Add(rows[checked((int)reader.GetInt64(0))]);
        }
        return fresh;
    }

    private List<string> PrimaryKey(string table)
    {
        using var command = Writer.CreateCommand();
        command.CommandText = """
            SELECT unnest(constraint_column_names) FROM duckdb_constraints()
            WHERE table_name = $table AND constraint_type = 'PRIMARY KEY'
            """;
        command.Parameters.Add(new DuckDBParameter("table", table));
        using var reader = command.ExecuteReader();
        var columns = new List<string>();
        while (reader.Read())
        {
            columns.Add(reader.GetString(0));
        }
        return columns.Count > 0 ? columns : throw new InvalidOperationException($"{table} has no primary key to be idempotent on");
    }

    private void Append<T>(string table, IReadOnlyList<T> rows, Action<IDuckDBAppenderRow, T> fill)
    {
        using var appender = Writer.CreateAppender(table);
        foreach (var item in rows)
        {
            var row = appender.CreateRow();
            fill(row, item);
            row.EndRow();
        }
    }

    /// <summary>
    /// Failures of the disk or the machine (DuckDB's I/O and out-of-memory errors), worth
    /// waiting out; a constraint, conversion or any other error is not, and must reach the
    /// dead-letter path instead of blocking the group. Classified by DuckDB's error type,
    /// never by the message, which quotes table names and values.
    /// </summary>
    public static bool IsTransient(Exception e) =>
        e is IOException || e is DuckDBException { ErrorType: DuckDBErrorType.Io or DuckDBErrorType.OutOfMemory };

    /// <summary>A key already stored (a redelivery); the staging path then reports any other violation again.</summary>
    private static bool IsDuplicateKey(DuckDBException e) => e.ErrorType == DuckDBErrorType.Constraint;

    public void Dispose()
    {
        if (Writer.State == ConnectionState.Open)
        {
            Execute(Writer, "CHECKPOINT");
        }
        Writer.Dispose();
    }
}
