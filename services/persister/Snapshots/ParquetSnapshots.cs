using System.Globalization;
using System.Text.Json;
using Arena.Contracts;
using Arena.Persister.Storage;
using Arena.ServiceDefaults;
using DuckDB.NET.Data;
using Microsoft.Extensions.Options;

namespace Arena.Persister.Snapshots;

/// <summary>What one snapshot wrote: its rows, the first and last stream IDs among them, and its files (relative to the folder).</summary>
public sealed record Snapshot(long Rows, StreamId First, StreamId Last, IReadOnlyList<string> Files);

/// <summary>
/// Parquet files of the stored events under <c>&lt;DataDir&gt;/snapshots</c>, for DuckDB, pandas or
/// Polars to read while the persister runs: <c>day=YYYY-MM-DD/events-&lt;first&gt;-&lt;last&gt;.parquet</c>,
/// Hive-partitioned by the UTC day of <c>ts</c>, named by the stream IDs they hold.
/// <para>
/// A snapshot takes the rows committed since the last one, in commit order: DuckDB numbers a
/// table's rows as they are appended (<c>rowid</c>; the persister never deletes), so a row
/// committed late — an entry claimed from a dead consumer, with a lower stream ID than rows
/// already snapshotted — is taken by the next snapshot rather than skipped.
/// </para>
/// <para>
/// Crash safety: the files are written under hidden temporary names, then the watermark file
/// (<c>_watermark.json</c>: the last <c>rowid</c> taken, and the renames that publish the
/// snapshot) replaces its predecessor by a rename — the commit point — and only then are the
/// files renamed into place. At start-up the renames of the last snapshot are finished and every
/// other temporary file removed, so a snapshot is published whole or not at all, and its rows
/// are taken again only when it was not published.
/// </para>
/// </summary>
public sealed class ParquetSnapshots(EventStore store, IOptions<ArenaOptions> arena, ILogger<ParquetSnapshots> logger)
{
    public const string FolderName = "snapshots";
    public const string WatermarkName = "_watermark.json";

    /// <summary>Rows one snapshot takes at most, so that a first snapshot of a large file holds a read slot for seconds, not minutes; the rest follow at once.</summary>
    public const long MaxRows = 1_000_000;

    /// <summary>The UTC day of <c>ts</c>, whatever the session's time zone.</summary>
    private const string Day = "strftime(make_timestamp(epoch_us(ts)), '%Y-%m-%d')";

    private const string TempSuffix = ".tmp";

    private long _watermark = -1;

    public string Folder { get; } = Path.GetFullPath(Path.Combine(arena.Value.DataDir, FolderName));

    private string WatermarkPath => Path.Combine(Folder, WatermarkName);

    /// <summary>Finishes the last snapshot's renames, removes unpublished files and reads the watermark.</summary>
    public void Recover()
    {
        Directory.CreateDirectory(Folder);
        var mark = ReadWatermark();
        _watermark = mark?.Rowid ?? -1;
        var finished = 0;
        foreach (var rename in mark?.Renames ?? [])
        {
            var temp = Path.Combine(Folder, rename[0]);
            if (File.Exists(temp))
            {
                File.Move(temp, Path.Combine(Folder, rename[1]), overwrite: true);
                finished++;
            }
        }
        var removed = Directory.GetFiles(Folder, "*" + TempSuffix, SearchOption.AllDirectories);
        foreach (var file in removed)
        {
            File.Delete(file);
        }
        if (finished > 0 || removed.Length > 0)
        {
            logger.LogInformation("Snapshots in {Folder}: published {Finished} files of the last snapshot, removed {Removed} unpublished", Folder, finished, removed.Length);
        }
    }

    /// <summary>Writes the rows committed since the last snapshot (up to <see cref="MaxRows"/>); null when there were none. Blocks: run it on a read thread.</summary>
    public Snapshot? Take()
    {
        using var connection = store.OpenReader();
        // One transaction: the bound, the days and every file see the same committed rows.
        using var transaction = connection.BeginTransaction();
        var newest = Scalar(connection, "SELECT coalesce(max(rowid), -1) FROM events");
        if (newest < _watermark)
        {
            logger.LogWarning("The store holds fewer rows ({Rows}) than {Watermark} records as snapshotted: snapshots resume once it has more. " +
                "Remove {Folder} together with the store to start them again.", newest + 1, WatermarkPath, Folder);
            return null;
        }
        var through = Math.Min(newest, _watermark + MaxRows);
        if (through == _watermark)
        {
            return null;
        }
        var rows = string.Create(CultureInfo.InvariantCulture, $"rowid > {_watermark} AND rowid <= {through}");
        var days = Days(connection, rows);
        var renames = new List<string[]>();
        foreach (var (day, first, last, _) in days)
        {
            var name = FreeName(day, first, last);
            var temp = Path.Combine(Path.GetDirectoryName(name)!, "." + Path.GetFileName(name) + TempSuffix);
            Directory.CreateDirectory(Path.Combine(Folder, Path.GetDirectoryName(name)!));
            using (var command = connection.CreateCommand())
            {
                command.CommandText = $"""
                    COPY (SELECT {EventQueries.ExportColumns} FROM events WHERE {rows} AND {Day} = '{day}' ORDER BY {EventQueries.StoreOrder})
                    TO {EventQueries.Quoted(Path.Combine(Folder, temp))} (FORMAT parquet)
                    """;
                command.ExecuteNonQuery();
            }
            Sync(Path.Combine(Folder, temp));
            renames.Add([temp, name]);
        }
        transaction.Commit();

        WriteWatermark(new Watermark(through, renames));
        foreach (var rename in renames)
        {
            File.Move(Path.Combine(Folder, rename[0]), Path.Combine(Folder, rename[1]), overwrite: true);
        }
        _watermark = through;
        // Row numbers a rolled-back append left unused: nothing to publish, but passed.
        return days.Count == 0 ? null : new Snapshot(days.Sum(d => d.Rows), days.Min(d => d.First), days.Max(d => d.Last), [.. renames.Select(r => r[1])]);
    }

    /// <summary>The days of the rows, each with its first and last stream IDs and its row count.</summary>
    private static List<(string Day, StreamId First, StreamId Last, long Rows)> Days(DuckDBConnection connection, string rows)
    {
        using var command = connection.CreateCommand();
        command.CommandText = $"""
            SELECT day, min(k)[1], min(k)[2], max(k)[1], max(k)[2], count(*)
            FROM (SELECT {Day} AS day, [stream_ms, stream_seq] AS k FROM events WHERE {rows})
            GROUP BY day ORDER BY day
            """;
        using var reader = command.ExecuteReader();
        var days = new List<(string, StreamId, StreamId, long)>();
        while (reader.Read())
        {
            days.Add((reader.GetString(0), new StreamId(reader.GetInt64(1), reader.GetInt64(2)), new StreamId(reader.GetInt64(3), reader.GetInt64(4)), reader.GetInt64(5)));
        }
        return days;
    }

    /// <summary>
    /// <c>day=…/events-&lt;first&gt;-&lt;last&gt;.parquet</c>, or with a suffix when an earlier snapshot has
    /// that name: possible only when two partitions' rows share the first and last stream IDs.
    /// </summary>
    private string FreeName(string day, StreamId first, StreamId last)
    {
        var name = Path.Combine($"day={day}", $"events-{first}-{last}.parquet");
        for (var n = 2; File.Exists(Path.Combine(Folder, name)); n++)
        {
            name = Path.Combine($"day={day}", string.Create(CultureInfo.InvariantCulture, $"events-{first}-{last}-{n}.parquet"));
        }
        return name;
    }

    private Watermark? ReadWatermark()
    {
        if (!File.Exists(WatermarkPath))
        {
            return null;
        }
        try
        {
            return JsonSerializer.Deserialize<Watermark>(File.ReadAllText(WatermarkPath), JsonOptions)
                ?? throw new JsonException("empty");
        }
        catch (JsonException e)
        {
            throw new ServiceStartupException($"{WatermarkPath} is not a snapshot watermark ({e.Message}). " +
                $"Remove {Folder} to write every snapshot again from the store.", e);
        }
    }

    private void WriteWatermark(Watermark mark)
    {
        var temp = WatermarkPath + TempSuffix;
        using (var file = new FileStream(temp, FileMode.Create, FileAccess.Write))
        {
            JsonSerializer.Serialize(file, mark, JsonOptions);
            file.Flush(flushToDisk: true);
        }
        File.Move(temp, WatermarkPath, overwrite: true);
    }

    /// <summary>Makes a written file durable before the watermark that publishes it is.</summary>
    private static void Sync(string path)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.ReadWrite);
        file.Flush(flushToDisk: true);
    }

    private static long Scalar(DuckDBConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture);
    }

    private static readonly JsonSerializerOptions JsonOptions = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    /// <summary>The last <c>rowid</c> snapshotted, and the renames (temporary, final; relative to the folder) that publish it.</summary>
    private sealed record Watermark(long Rowid, IReadOnlyList<string[]> Renames);
}
