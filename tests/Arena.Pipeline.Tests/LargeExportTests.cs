using System.Diagnostics;
using System.Globalization;
using Arena.Contracts;
using Arena.Pipeline.Tests.Infrastructure;

namespace Arena.Pipeline.Tests;

/// <summary>
/// An export of a million stored events goes to the client as it is read: the persister's
/// resident memory stays far below the export's size. The file is filled straight from DuckDB
/// (<see cref="PersisterFile.Fill"/>), then a persister process serves it.
/// </summary>
public sealed class LargeExportTests(ITestOutputHelper output) : PipelineTest(output)
{
    private const long Events = 1_000_000;

    [Fact]
    public async Task An_export_of_a_million_events_streams_in_bounded_memory_in_stream_order()
    {
        // A persister creates the file and its schema; the file is filled while no process holds it.
        await (await TestServices.Persister(Redis, DataDir, Output).WaitReadyAsync()).DisposeAsync();
        var clock = Stopwatch.StartNew();
        var samples = Enumerable.Range(0, 1000).Select(i => new FillSample(i % 10 == 0 ? "action" : "observation", 1,
            string.Create(CultureInfo.InvariantCulture,
                $$$"""{"event_id":"sample-{{{i}}}","run_id":"sample","seq":{{{i}}},"type":"observation","schema_version":1,"ts":"2026-11-23T10:00:00Z","payload":{"turn":{{{i}}},"player_id":"p1","observation":"{{{new string((char)('a' + i % 26), 200)}}}"}}"""))).ToList();
        PersisterFile.Fill(DataDir, Events, [.. Enumerable.Range(0, 200).Select(i => $"run-{i}")], samples);
        Output.WriteLine($"{Events:N0} events stored in {clock.Elapsed.TotalSeconds:F1} s");

        await using var persister = await TestServices.Persister(Redis, DataDir, Output, new Dictionary<string, string>
        {
            ["Persister__SnapshotInterval"] = "00:00:00",
            ["Persister__DuckDbMemoryLimit"] = "64MB",
        }).WaitReadyAsync(TimeSpan.FromSeconds(120));
        using var http = new HttpClient { BaseAddress = persister.Url, Timeout = Timeout.InfiniteTimeSpan };

        foreach (var format in new[] { "ndjson", "csv" })
        {
            var idle = persister.RssBytes();
            var peak = idle;
            using var stop = new CancellationTokenSource();
            var sampling = Task.Run(async () =>
            {
                while (!stop.IsCancellationRequested)
                {
                    peak = Math.Max(peak, persister.RssBytes());
                    await Task.Delay(20, CancellationToken.None);
                }
            });
            clock.Restart();
            var (rows, bytes) = await DownloadInOrderAsync(http, format);
            await stop.CancelAsync();
            await sampling;

            Output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{format}: {rows:N0} rows, {bytes >> 20} MiB in {clock.Elapsed.TotalSeconds:F1} s; persister resident {idle >> 20} MiB before, at most {peak >> 20} MiB during"));
            Assert.Equal(Events, rows);
            // Held whole, the export would cost its size again as bytes, twice that as .NET strings. Streamed,
            // the persister holds a chunk of about 1 MiB at a time, DuckDB's buffers (64 MB here) and what the
            // server GC lets a heap grow to between collections: well under half the export.
            Assert.True(peak - idle < bytes / 2, $"the persister grew by {(peak - idle) >> 20} MiB serving a {bytes >> 20} MiB export");
        }
    }

    /// <summary>Reads an export line by line, checking that the stream IDs rise; returns its rows and bytes.</summary>
    private static async Task<(long Rows, long Bytes)> DownloadInOrderAsync(HttpClient http, string format)
    {
        using var response = await http.GetAsync($"/v1/export?format={format}", HttpCompletionOption.ResponseHeadersRead);
        response.EnsureSuccessStatusCode();
        await using var body = await response.Content.ReadAsStreamAsync();
        using var reader = new StreamReader(body);
        if (format == "csv")
        {
            Assert.StartsWith("stream_id,", await reader.ReadLineAsync(), StringComparison.Ordinal);
        }
        var rows = 0L;
        var bytes = 0L;
        var previous = StreamId.Zero;
        while (await reader.ReadLineAsync() is { } line)
        {
            // NDJSON: {"stream_id":"<id>",…; CSV: <id>,…
            var id = format == "csv" ? line[..line.IndexOf(',', StringComparison.Ordinal)] : line[14..line.IndexOf('"', 14)];
            var current = StreamId.Parse(id);
            Assert.True(current.CompareTo(previous) > 0, $"row {rows}: {current} after {previous}");
            previous = current;
            rows++;
            bytes += line.Length + 1;
        }
        return (rows, bytes);
    }
}
