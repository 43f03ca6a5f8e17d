using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using Arena.Pipeline.Tests.Infrastructure;

namespace Arena.Pipeline.Tests;

/// <summary>
/// The persister's history API under large and slow readers: responses are written as they are
/// read from DuckDB, reads wait in a bounded queue, and what does not fit is refused with 503.
/// Against a real persister process and its DuckDB file; events go straight onto the stream.
/// </summary>
public sealed class HistoryReadBoundsTests(ITestOutputHelper output) : PipelineTest(output)
{
    private const string BigRun = "big";
    private const string SmallRun = "small";

    /// <summary>About the largest event ingest takes (64 KiB) once its envelope is around it.</summary>
    private const int ObservationChars = 60_000;

    private ServiceProcess Persister(params (string Key, string Value)[] settings) =>
        TestServices.Persister(Redis, DataDir, Output,
            new[] { ("Persister__BatchSize", "50") }.Concat(settings).ToDictionary(s => s.Item1, s => s.Item2));

    /// <summary>Puts <paramref name="big"/> large events of one run and 20 small ones of another on the stream and waits until they are stored.</summary>
    private async Task<ServiceProcess> StoreAsync(int big, params (string Key, string Value)[] settings)
    {
        var adds = Enumerable.Range(1, big)
            .Select(seq => Db.StreamAddAsync(PipelineState.Stream, "envelope", Events.LargeObservation(BigRun, seq, ObservationChars)))
            .Concat(Events.Run(SmallRun, 20).Select(e => Db.StreamAddAsync(PipelineState.Stream, "envelope", e)));
        await Task.WhenAll(adds);
        var persister = await Persister(settings).WaitReadyAsync();
        await Wait.UntilAsync(async () => await PipelineState.PersistedCountAsync(persister.Http) == big + 20, $"{big + 20} events to be stored");
        return persister;
    }

    [Fact]
    public async Task Slow_clients_downloading_a_large_run_leave_the_persister_small_and_other_readers_answered()
    {
        await using var persister = await StoreAsync(big: 1000);
        var storedMiB = 1000.0 * ObservationChars / (1 << 20);
        var before = await WellBehavedAsync(persister, rounds: 10);
        var idle = persister.RssBytes();

        using var stop = new CancellationTokenSource();
        var peak = idle;
        var sampling = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                peak = Math.Max(peak, persister.RssBytes());
                await Task.Delay(20, CancellationToken.None);
            }
        });
        var slow = new[]
        {
            SlowlyAsync(persister, $"/v1/runs/{BigRun}/export?format=ndjson", stop.Token),
            SlowlyAsync(persister, $"/v1/runs/{BigRun}/export?format=ndjson", stop.Token),
            SlowlyAsync(persister, $"/v1/runs/{BigRun}/export?format=ndjson", stop.Token),
            SlowlyAsync(persister, $"/v1/runs/{BigRun}/export?format=parquet", stop.Token),
            SlowPagesAsync(persister, stop.Token),
            SlowPagesAsync(persister, stop.Token),
        };
        // Every slow client has its first bytes: all of them are being served at once.
        await Wait.UntilAsync(() => slow.All(s => s.Received > 0 || s.Task.IsCompleted), "every slow client to receive its first bytes");
        var during = await WellBehavedAsync(persister, rounds: 20);
        var received = slow.Sum(s => s.Received);
        await stop.CancelAsync();
        await Task.WhenAll(slow.Select(s => s.Task).Append(sampling));

        Output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{storedMiB:F0} MiB stored in one run; persister resident {idle >> 20} MiB idle, at most {peak >> 20} MiB while 6 slow clients read {received >> 20} MiB"));
        Output.WriteLine($"well-behaved client before the slow downloads: {before}");
        Output.WriteLine($"well-behaved client during the slow downloads: {during}");
        Assert.All(slow, s => Assert.Null(s.Failure));
        // Buffered whole, each of the six responses holds the run (57 MiB, twice that as .NET strings) at
        // once: the persister grew by 1.9 GiB under this very test when it did.
        Assert.True(peak - idle < 512L << 20, $"the persister grew by {(peak - idle) >> 20} MiB while serving the slow clients");
        Assert.True(during.Max < TimeSpan.FromSeconds(5), $"a well-behaved request took {during.Max.TotalMilliseconds:F0} ms");
        // Each Parquet export's file was unlinked once open, whether or not its client read it all.
        Assert.Empty(Directory.GetFiles(Path.Combine(DataDir, "persister-exports")));
    }

    [Fact]
    public async Task Reads_beyond_the_queue_get_503_with_Retry_After_and_are_counted()
    {
        await using var persister = await StoreAsync(big: 300, ("Persister__MaxConcurrentReads", "1"), ("Persister__MaxQueuedReads", "0"));

        // While one Parquet export holds the only read slot, with no room to wait, a page is refused.
        HttpResponseMessage? refused = null;
        var refusals = 0;
        for (var attempt = 0; attempt < 5 && refused is null; attempt++)
        {
            var export = persister.Http.GetByteArrayAsync($"/v1/runs/{BigRun}/export?format=parquet");
            while (!export.IsCompleted && refused is null)
            {
                var page = await persister.Http.GetAsync($"/v1/runs/{SmallRun}/events?limit=10");
                if (page.StatusCode == HttpStatusCode.ServiceUnavailable)
                {
                    refused = page;
                    refusals++;
                }
                else
                {
                    Assert.Equal(HttpStatusCode.OK, page.StatusCode);
                }
            }
            Assert.Equal("PAR1"u8.ToArray(), (await export)[..4]);
        }

        Assert.NotNull(refused);
        Assert.Equal(TimeSpan.FromSeconds(1), refused.Headers.RetryAfter?.Delta);
        Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
        using var problem = JsonDocument.Parse(await refused.Content.ReadAsStringAsync());
        Assert.Equal(503, problem.RootElement.GetProperty("status").GetInt32());
        Assert.EndsWith("/reads-busy", problem.RootElement.GetProperty("type").GetString(), StringComparison.Ordinal);
        await Wait.UntilAsync(async () => System.Text.RegularExpressions.Regex.IsMatch(await persister.Http.GetStringAsync("/metrics"),
            $@"arena_persister_reads_refused_total\{{[^}}]*\}} {refusals}\b"), $"the refused-reads counter to read {refusals}");
        // Refusal is for the moment only: with the slot free the same page is served.
        Assert.Equal(HttpStatusCode.OK, (await persister.Http.GetAsync($"/v1/runs/{SmallRun}/events?limit=10")).StatusCode);
    }

    [Fact]
    public async Task A_page_of_large_events_stops_near_4_MiB_and_the_pages_together_are_the_export()
    {
        await using var persister = await StoreAsync(big: 200);

        var pages = new List<string>();
        string? after = null;
        do
        {
            var page = await persister.Http.GetStringAsync($"/v1/runs/{BigRun}/events?limit=10000{(after is null ? "" : $"&after={after}")}");
            pages.Add(page);
            using var document = JsonDocument.Parse(page);
            after = document.RootElement.GetProperty("next_after").GetString();
        }
        while (after is not null);

        var export = (await persister.Http.GetStringAsync($"/v1/runs/{BigRun}/export?format=ndjson")).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(200, export.Length);
        Output.WriteLine($"{pages.Count} pages of {string.Join(", ", pages.Select(p => $"{p.Length >> 10} KiB"))}");
        Assert.All(pages.SkipLast(1), p => Assert.InRange(p.Length, 4 << 20, (4 << 20) + 2 * (ObservationChars + 1000)));
        // Page by page, the events are the export's lines in order, and next_after is the last one's stream ID.
        var offset = 0;
        foreach (var page in pages)
        {
            using var document = JsonDocument.Parse(page);
            var events = document.RootElement.GetProperty("events").EnumerateArray().Select(e => e.GetRawText()).ToList();
            var lines = export.Skip(offset).Take(events.Count).ToList();
            offset += events.Count;
            var next = offset < export.Length ? $"\"{JsonDocument.Parse(lines[^1]).RootElement.GetProperty("stream_id").GetString()}\"" : "null";
            Assert.Equal($"{{\"run_id\":\"{BigRun}\",\"events\":[{string.Join(",", lines)}],\"next_after\":{next}}}", page);
        }
        Assert.Equal(200, offset);
    }

    [Fact]
    public async Task Parquet_exports_left_by_a_killed_persister_are_removed_at_start_up()
    {
        var folder = Directory.CreateDirectory(Path.Combine(DataDir, "persister-exports")).FullName;
        var leftOver = Path.Combine(folder, "0123456789abcdef0123456789abcdef.parquet");
        await File.WriteAllTextAsync(leftOver, "PAR1 unfinished");

        await using var persister = await Persister().WaitReadyAsync();

        Assert.False(File.Exists(leftOver));
        Assert.Contains("Removed 1 unfinished Parquet exports", persister.Output, StringComparison.Ordinal);
    }

    /// <summary>What a well-behaved client sees: every response a 200, and the latencies of <paramref name="rounds"/> rounds.</summary>
    private static async Task<Latencies> WellBehavedAsync(ServiceProcess persister, int rounds)
    {
        var runs = new List<TimeSpan>();
        var pages = new List<TimeSpan>();
        for (var i = 0; i < rounds; i++)
        {
            foreach (var (url, took) in new[] { ("/v1/runs", runs), ($"/v1/runs/{SmallRun}/events?limit=10", pages) })
            {
                var watch = Stopwatch.StartNew();
                using var response = await persister.Http.GetAsync(url);
                await response.Content.ReadAsByteArrayAsync();
                took.Add(watch.Elapsed);
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            }
        }
        return new Latencies(runs, pages);
    }

    /// <summary>Reads <paramref name="url"/> 16 KiB at a time with a pause after each, until stopped or done.</summary>
    private static SlowClient SlowlyAsync(ServiceProcess persister, string url, CancellationToken stop)
    {
        var client = new SlowClient();
        client.Task = Task.Run(async () =>
        {
            try
            {
                await client.ReadAsync(persister.Http, url, stop);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
            }
            catch (Exception e)
            {
                client.Failure = e;
            }
        });
        return client;
    }

    /// <summary>Pages through the large run with limit=10000, each page read slowly, until stopped or done.</summary>
    private static SlowClient SlowPagesAsync(ServiceProcess persister, CancellationToken stop)
    {
        var client = new SlowClient();
        client.Task = Task.Run(async () =>
        {
            try
            {
                string? after = null;
                do
                {
                    var page = await client.ReadAsync(persister.Http, $"/v1/runs/{BigRun}/events?limit=10000{(after is null ? "" : $"&after={after}")}", stop);
                    using var document = JsonDocument.Parse(page);
                    after = document.RootElement.GetProperty("next_after").GetString();
                }
                while (after is not null);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
            }
            catch (Exception e)
            {
                client.Failure = e;
            }
        });
        return client;
    }

    private sealed class SlowClient
    {
        private long _received;

        public Task Task { get; set; } = Task.CompletedTask;
        public Exception? Failure { get; set; }
        public long Received => Interlocked.Read(ref _received);

        /// <summary>The whole body, read 16 KiB at a time with a pause after each.</summary>
        public async Task<byte[]> ReadAsync(HttpClient http, string url, CancellationToken stop)
        {
            using var response = await http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, stop);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            await using var body = await response.Content.ReadAsStreamAsync(stop);
            using var kept = new MemoryStream();
            var buffer = new byte[16 * 1024];
            int read;
            while ((read = await body.ReadAsync(buffer, stop)) > 0)
            {
                // Pages are parsed for next_after; exports are only counted, as a slow download would.
                if (url.Contains("/events", StringComparison.Ordinal))
                {
                    kept.Write(buffer, 0, read);
                }
                Interlocked.Add(ref _received, read);
                await Task.Delay(5, stop);
            }
            return kept.ToArray();
        }
    }

    private sealed record Latencies(List<TimeSpan> Runs, List<TimeSpan> Pages)
    {
        public TimeSpan Max => Runs.Concat(Pages).Max();

        public override string ToString() => $"GET /v1/runs {Summary(Runs)}, a 10-event page {Summary(Pages)}";

        private static string Summary(List<TimeSpan> latencies)
        {
            var sorted = latencies.Order().ToList();
            return string.Create(CultureInfo.InvariantCulture,
                $"p50 {sorted[sorted.Count / 2].TotalMilliseconds:F1} ms, max {sorted[^1].TotalMilliseconds:F1} ms ({sorted.Count} requests)");
        }
    }
}
