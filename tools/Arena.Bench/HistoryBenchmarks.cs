using System.Diagnostics;
using System.Globalization;
using System.Text;
using Arena.Harness;
using Arena.Load;
using Arena.Persister.Storage;
using Arena.Storage;
using DuckDB.NET.Data;

namespace Arena.Bench;

/// <summary>
/// The persister's history API over a large file: <c>GET /v1/runs</c> and a run's first page of
/// events, timed over HTTP against a persister started on a file filled beforehand, and what
/// the persister spends at start-up summarising every run of that file.
/// </summary>
internal static class HistoryBenchmarks
{
    public sealed record Result(TimeSpan Fill, TimeSpan Summary, TimeSpan StartUp, LatencySummary Runs, LatencySummary History);

    public const int Calls = 200;
    private const int Concurrent = 100;

    /// <summary>
    /// Fills a persister file with <paramref name="events"/> events over <paramref name="runs"/>
    /// runs, times the start-up summary in process, then times <see cref="Calls"/> calls of each
    /// query on a persister process started on the file.
    /// </summary>
    public static async Task<Result> MeasureAsync(int events, int runs)
    {
        var dir = Directory.CreateTempSubdirectory("arena-bench-history-").FullName;
        try
        {
            var fill = Stopwatch.StartNew();
            var runIds = Fill(dir, events, runs);
            fill.Stop();
            var summary = Stopwatch.StartNew();
            EventStore.Open(dir).Dispose();
            summary.Stop();
            await using var redis = await RedisProcess.StartAsync("no-aof");
            var startUp = Stopwatch.StartNew();
            await using var persister = await ServiceProcess.StartAsync("persister", redis, new Dictionary<string, string> { ["Arena__DataDir"] = dir });
            startUp.Stop();
            var random = new Random(7);
            var list = await TimeAsync(persister.Http, _ => "/v1/runs");
            var history = await TimeAsync(persister.Http, _ => $"/v1/runs/{runIds[random.Next(runIds.Length)]}/events?limit=1000");
            return new Result(fill.Elapsed, summary.Elapsed, startUp.Elapsed, list, history);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>
    /// Runs played <see cref="Concurrent"/> at a time, as <see cref="PersisterFile.Fill"/> stores
    /// them; run ids are random, so no run's events sit together or in a narrow range of ids.
    /// </summary>
    private static string[] Fill(string dir, int events, int runs)
    {
        var random = new Random(3);
        var runIds = Enumerable.Range(0, runs).Select(_ => $"run-{random.NextInt64():x16}").ToArray();
        var samples = SampleEvents.Create(10_000).Select(s => new FillSample(s.Type, s.SchemaVersion, Encoding.UTF8.GetString(s.Envelope))).ToList();
        EventStore.Open(dir).Dispose();
        PersisterFile.Fill(dir, events, runIds, samples, Concurrent,
            stored => Progress.Show(string.Create(CultureInfo.InvariantCulture, $"{stored:N0} of {events:N0} stored")));
        Progress.Clear();
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
