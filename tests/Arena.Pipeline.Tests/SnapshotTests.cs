using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Arena.Pipeline.Tests.Infrastructure;

namespace Arena.Pipeline.Tests;

/// <summary>
/// Parquet snapshots under <c>&lt;DataDir&gt;/snapshots</c>, read by a DuckDB of the test's own
/// (<c>read_parquet</c> with Hive partitioning) while a real persister process writes: every read
/// whole, every committed event once, across kill -9 and a crash at either side of a snapshot's
/// commit point. Events go straight onto the stream.
/// </summary>
public sealed class SnapshotTests(ITestOutputHelper output) : PipelineTest(output)
{
    /// <summary>Events alternate between two days, so that a snapshot usually writes a file into each.</summary>
    private static readonly DateTimeOffset[] Days = [new(2026, 11, 23, 23, 59, 59, TimeSpan.Zero), new(2026, 11, 24, 0, 0, 1, TimeSpan.Zero)];

    private string Folder => Path.Combine(DataDir, "snapshots");

    private ServiceProcess Persister() => TestServices.Persister(Redis, DataDir, Output, new Dictionary<string, string>
    {
        ["Persister__SnapshotInterval"] = "00:00:00.200",
        ["Persister__BatchSize"] = "100",
    });

    /// <summary>Adds event <paramref name="n"/> to the stream; returns its stream ID and event id.</summary>
    private async Task<(string StreamId, string EventId)> AddAsync(int n)
    {
        var ts = Days[n % 2].ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
        var eventId = $"run-{n % 5}:{n}";
        var envelope = string.Create(CultureInfo.InvariantCulture,
            $$$"""{"event_id":"{{{eventId}}}","run_id":"run-{{{n % 5}}}","seq":{{{n}}},"type":"turn_start","schema_version":1,"ts":"{{{ts}}}","payload":{"turn":{{{n}}},"player_id":"p1"}}""");
        return ((await Db.StreamAddAsync(PipelineState.Stream, "envelope", envelope)).ToString(), eventId);
    }

    /// <summary>Adds events from <paramref name="first"/> on, 50 at a time, until <paramref name="stop"/>; records each in <paramref name="added"/>.</summary>
    private Task<int> ProduceAsync(int first, ConcurrentDictionary<string, string> added, CancellationToken stop) => Task.Run(async () =>
    {
        var n = first;
        while (!stop.IsCancellationRequested)
        {
            foreach (var (id, eventId) in await Task.WhenAll(Enumerable.Range(n, 50).Select(AddAsync)))
            {
                added[id] = eventId;
            }
            n += 50;
            // A producer's pace, so that the snapshots meet events while they flow.
            await Task.Delay(20, CancellationToken.None);
        }
        return n;
    });

    /// <summary>Every published snapshot file read at once, each row checked against its day folder and none twice.</summary>
    private List<ParquetRow> ReadWhole()
    {
        if (!Directory.Exists(Folder) || !Directory.EnumerateFiles(Folder, "*.parquet", SearchOption.AllDirectories).Any())
        {
            return [];
        }
        var rows = ParquetRows.Read(Path.Combine(Folder, "*", "*.parquet"), hive: true);
        Assert.Equal(rows.Count, rows.Select(r => (r.Partition, r.StreamId)).Distinct().Count());
        Assert.All(rows, r => Assert.Equal(r.Ts.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), r.Day));
        return rows;
    }

    private async Task AssertSnapshotsHoldExactlyAsync(IReadOnlyDictionary<string, string> added, string when)
    {
        List<ParquetRow> rows = [];
        await Wait.UntilAsync(() => (rows = ReadWhole()).Count >= added.Count, $"the snapshots to hold all {added.Count} events {when}", TimeSpan.FromSeconds(120));
        Assert.Equal(added.OrderBy(a => a.Key, StringComparer.Ordinal), rows.Select(r => KeyValuePair.Create(r.StreamId, r.EventId)).OrderBy(a => a.Key, StringComparer.Ordinal));
        Assert.Empty(Directory.GetFiles(Folder, "*.tmp", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task Snapshots_are_read_whole_while_the_persister_writes_and_hold_every_committed_event_once_across_a_kill()
    {
        await using var persister = await Persister().WaitReadyAsync();
        var added = new ConcurrentDictionary<string, string>();

        using (var stop = new CancellationTokenSource())
        {
            var producing = ProduceAsync(0, added, stop.Token);
            // Reads meet new snapshots while events flow: each read is whole, whatever is being written.
            var counts = new List<int> { 0 };
            await Wait.UntilAsync(() =>
            {
                var count = ReadWhole().Count;
                if (count > counts[^1])
                {
                    counts.Add(count);
                }
                return counts.Count > 5;
            }, "five reads of growing snapshots while events flow", TimeSpan.FromSeconds(120));
            Output.WriteLine($"rows seen by successive reads while events flowed: {string.Join(", ", counts.Skip(1))}");
            await stop.CancelAsync();
            await producing;
        }
        await AssertSnapshotsHoldExactlyAsync(added, "after the flow stopped");
        Assert.Equal(["day=2026-11-23", "day=2026-11-24"], Directory.GetDirectories(Folder).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        var metrics = await persister.Http.GetStringAsync("/metrics");
        Assert.Matches($@"arena_persister_snapshot_rows_total\{{[^}}]*\}} {added.Count}\b", metrics);
        Assert.Matches(@"arena_persister_snapshot_last_success_seconds\{[^}]*\} [1-9]", metrics);

        // Killed while events flow and snapshots are taken, restarted: nothing twice, nothing missing.
        using (var stop = new CancellationTokenSource())
        {
            var before = added.Count;
            var producing = ProduceAsync(100_000, added, stop.Token);
            await Wait.UntilAsync(() => ReadWhole().Count > before + 200, "snapshots of the second flow");
            await persister.KillAsync();
            await Wait.UntilAsync(() => added.Count > before + 1000, "events added while the persister is down");
            await persister.RestartAsync();
            await Wait.UntilAsync(() => added.Count > before + 2000, "events added after the restart");
            await stop.CancelAsync();
            await producing;
        }
        await AssertSnapshotsHoldExactlyAsync(added, "after a kill and a restart");
        Output.WriteLine($"{added.Count} events in {Directory.GetFiles(Folder, "*.parquet", SearchOption.AllDirectories).Length} snapshot files");
    }

    [Fact]
    public async Task A_snapshot_cut_short_by_a_crash_is_published_whole_or_taken_again()
    {
        var added = new Dictionary<string, string>();
        foreach (var n in Enumerable.Range(0, 100))
        {
            var (id, eventId) = await AddAsync(n);
            added[id] = eventId;
        }
        await using var persister = await Persister().WaitReadyAsync();
        await AssertSnapshotsHoldExactlyAsync(added, "at first");
        await persister.KillAsync();
        var watermarkPath = Path.Combine(Folder, "_watermark.json");
        var watermark = JsonNode.Parse(await File.ReadAllTextAsync(watermarkPath))!.AsObject();
        var published = Directory.GetFiles(Folder, "*.parquet", SearchOption.AllDirectories);

        // Killed before its commit point: the files written under temporary names, the watermark not yet moved.
        foreach (var file in published)
        {
            File.Move(file, Hidden(file));
        }
        await File.WriteAllTextAsync(watermarkPath, """{"rowid":-1,"renames":[]}""");
        await persister.RestartAsync();
        await AssertSnapshotsHoldExactlyAsync(added, "after a crash before the commit point");
        Assert.Contains($"published 0 files of the last snapshot, removed {published.Length} unpublished", persister.Output, StringComparison.Ordinal);
        await persister.KillAsync();
        published = Directory.GetFiles(Folder, "*.parquet", SearchOption.AllDirectories);

        // Killed after it: the watermark names the renames still to do; a half-written file of a later snapshot lies beside them.
        var renamed = published[0];
        File.Move(renamed, Hidden(renamed));
        watermark = JsonNode.Parse(await File.ReadAllTextAsync(watermarkPath))!.AsObject();
        watermark["renames"] = new JsonArray(new JsonArray(Path.GetRelativePath(Folder, Hidden(renamed)), Path.GetRelativePath(Folder, renamed)));
        await File.WriteAllTextAsync(watermarkPath, watermark.ToJsonString());
        await File.WriteAllBytesAsync(Path.Combine(Path.GetDirectoryName(renamed)!, ".events-1-0-2-0.parquet.tmp"), "PAR1 cut short"u8.ToArray());
        foreach (var n in Enumerable.Range(100, 50))
        {
            var (id, eventId) = await AddAsync(n);
            added[id] = eventId;
        }
        await persister.RestartAsync();
        await AssertSnapshotsHoldExactlyAsync(added, "after a crash after the commit point");
        Assert.True(File.Exists(renamed), $"{renamed} was not published at start-up");
        Assert.Contains("published 1 files of the last snapshot, removed 1 unpublished", persister.Output, StringComparison.Ordinal);
    }

    private static string Hidden(string file) => Path.Combine(Path.GetDirectoryName(file)!, "." + Path.GetFileName(file) + ".tmp");
}
