using System.Diagnostics;
using System.Globalization;
using System.Text;
using Arena.Contracts;
using Arena.Harness;
using Arena.Load;
using Arena.Persister.Storage;

namespace Arena.Bench;

/// <summary>
/// The persister's history API over a large file: <c>GET /v1/runs</c> and a run's first page of
/// events, timed over HTTP against a persister started on a file filled beforehand.
/// </summary>
internal static class HistoryBenchmarks
{
    public sealed record Result(TimeSpan Fill, LatencySummary Runs, LatencySummary History);

    public const int Calls = 200;
    private const int RowsPerFillBatch = 10_000;

    /// <summary>
    /// Fills a persister file with <paramref name="events"/> events over <paramref name="runs"/>
    /// runs (in process, through <see cref="EventStore"/>), then times <see cref="Calls"/> calls of
    /// each query on a persister process started on it.
    /// </summary>
    public static async Task<Result> MeasureAsync(int events, int runs)
    {
        var dir = Directory.CreateTempSubdirectory("arena-bench-history-").FullName;
        try
        {
            var fill = Stopwatch.StartNew();
            var runIds = Fill(dir, events, runs);
            fill.Stop();
            await using var redis = await RedisProcess.StartAsync("no-aof");
            await using var persister = await ServiceProcess.StartAsync("persister", redis, new Dictionary<string, string> { ["Arena__DataDir"] = dir });
            var random = new Random(7);
            var list = await TimeAsync(persister.Http, _ => "/v1/runs");
            var history = await TimeAsync(persister.Http, _ => $"/v1/runs/{runIds[random.Next(runIds.Length)]}/events?limit=1000");
            return new Result(fill.Elapsed, list, history);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>
    /// Runs played <c>concurrent</c> at a time, their events interleaved as they would arrive;
    /// run ids are random, so no run's events sit together or in a narrow range of ids.
    /// </summary>
    private static string[] Fill(string dir, int events, int runs)
    {
        var samples = SampleEvents.Create(10_000);
        var envelopes = Array.ConvertAll(samples, e => Encoding.UTF8.GetString(e.Envelope));
        var random = new Random(3);
        var runIds = Enumerable.Range(0, runs).Select(_ => $"run-{random.NextInt64():x16}").ToArray();
        var perRun = events / runs;
        const int concurrent = 100;
        var start = DateTimeOffset.UtcNow.AddDays(-30);
        using var store = EventStore.Open(dir);
        var batch = new List<StoredEvent>(RowsPerFillBatch);
        var progress = Stopwatch.StartNew();
        for (var i = 0; i < events; i++)
        {
            var wave = i / (perRun * concurrent);
            var run = Math.Min(wave * concurrent + i % concurrent, runs - 1);
            var sample = samples[i % samples.Length];
            var at = start.AddMilliseconds(i / 4.0);
            var header = new EnvelopeHeader($"{runIds[run]}:{i}", runIds[run], i / concurrent, sample.Type, sample.SchemaVersion, at);
            batch.Add(new StoredEvent(0, new StreamId(at.ToUnixTimeMilliseconds(), i % 4), header, at, envelopes[i % envelopes.Length], null));
            if (batch.Count == RowsPerFillBatch || i == events - 1)
            {
                store.Write(batch);
                batch.Clear();
            }
            if (progress.Elapsed > TimeSpan.FromSeconds(5))
            {
                Console.Write(string.Create(CultureInfo.InvariantCulture, $"\r  {i:N0} of {events:N0} stored   "));
                progress.Restart();
            }
        }
        Console.WriteLine();
        return runIds;
    }

    private static async Task<LatencySummary> TimeAsync(HttpClient http, Func<int, string> url)
    {
        for (var i = 0; i < 5; i++)
        {
            await http.GetStringAsync(url(i)); // warm-up: JIT and the first reads of the file
        }
        var latencies = new LatencyHistogram();
        for (var i = 0; i < Calls; i++)
        {
            var clock = Stopwatch.StartNew();
            await http.GetStringAsync(url(i));
            latencies.RecordMilliseconds(clock.Elapsed.TotalMilliseconds);
        }
        return latencies.Summary();
    }
}
