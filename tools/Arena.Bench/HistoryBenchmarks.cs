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
    private const int RowsPerFillStatement = 1_000_000;
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
    /// Runs played <see cref="Concurrent"/> at a time, their events interleaved as they would
    /// arrive, four to a millisecond; run ids are random, so no run's events sit together or in a
    /// narrow range of ids. The rows are made by DuckDB from <c>range()</c> straight into the
    /// persister's schema: the fill is setup, and the appender row by row took minutes.
    /// </summary>
    private static string[] Fill(string dir, int events, int runs)
    {
        var samples = SampleEvents.Create(10_000);
        var random = new Random(3);
        var runIds = Enumerable.Range(0, runs).Select(_ => $"run-{random.NextInt64():x16}").ToArray();
        var perWave = events / runs * Concurrent;
        var start = DateTimeOffset.UtcNow.AddDays(-30);
        var startMs = start.ToUnixTimeMilliseconds();
        EventStore.Open(dir).Dispose();

        using var connection = new DuckDBConnection($"Data Source={Path.Combine(dir, EventStore.FileName)}");
        connection.Open();
        // UTC, so that epoch_ms() stores the instants meant whatever the machine's zone.
        DuckDbFile.Execute(connection, """
            SET TimeZone = 'UTC';
            CREATE TEMP TABLE samples (sample INTEGER, type VARCHAR, schema_version INTEGER, envelope VARCHAR);
            CREATE TEMP TABLE run_ids (run INTEGER, run_id VARCHAR);
            """);
        using (var appender = connection.CreateAppender("samples"))
        {
            for (var i = 0; i < samples.Length; i++)
            {
                appender.CreateRow().AppendValue(i).AppendValue(samples[i].Type).AppendValue(samples[i].SchemaVersion)
                    .AppendValue(Encoding.UTF8.GetString(samples[i].Envelope)).EndRow();
            }
        }
        using (var appender = connection.CreateAppender("run_ids"))
        {
            for (var i = 0; i < runIds.Length; i++)
            {
                appender.CreateRow().AppendValue(i).AppendValue(runIds[i]).EndRow();
            }
        }
        var progress = Stopwatch.StartNew();
        for (long from = 0; from < events; from += RowsPerFillStatement)
        {
            var to = Math.Min(from + RowsPerFillStatement, events);
            DuckDbFile.Execute(connection, string.Create(CultureInfo.InvariantCulture, $"""
                INSERT INTO events
                SELECT 0, {startMs} + i // 4, i % 4, r.run_id || ':' || i, r.run_id, i // {Concurrent}, s.type, s.schema_version,
                       epoch_ms({startMs}) + to_microseconds(i * 250), epoch_ms({startMs}) + to_microseconds(i * 250), s.envelope, NULL
                FROM range({from}, {to}) t(i)
                JOIN run_ids r ON r.run = least(i // {perWave} * {Concurrent} + i % {Concurrent}, {runs - 1})
                JOIN samples s ON s.sample = i % {samples.Length}
                """));
            if (progress.Elapsed > TimeSpan.FromSeconds(5))
            {
                Console.Write(string.Create(CultureInfo.InvariantCulture, $"\r  {to:N0} of {events:N0} stored   "));
                progress.Restart();
            }
        }
        DuckDbFile.Execute(connection, "CHECKPOINT");
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
