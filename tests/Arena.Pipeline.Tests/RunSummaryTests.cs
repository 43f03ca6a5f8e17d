using System.Globalization;
using System.Text.Json;
using Arena.Pipeline.Tests.Infrastructure;
using DuckDB.NET.Data;

namespace Arena.Pipeline.Tests;

/// <summary>
/// <c>GET /v1/runs</c> answers from a summary the persister keeps in memory; these hold it to a
/// grouping of every stored event, through redeliveries, a kill -9 and a file it did not write.
/// </summary>
public sealed class RunSummaryTests(ITestOutputHelper output) : PipelineTest(output)
{
    protected override IDictionary<string, string>? IngestSettings => new Dictionary<string, string>();

    /// <summary>The runs as a grouping of every event states them, read from the file while no persister has it open.</summary>
    private const string FromEveryEvent = """
        SELECT run_id, count(*), min(ts), max(ts),
               CASE WHEN bool_or(type = 'game_end') THEN 'finished'
                    WHEN bool_or(type = 'error' AND json_extract_string(envelope, '$.payload.fatal') = 'true') THEN 'failed'
                    ELSE 'running' END
        FROM events
        GROUP BY run_id
        ORDER BY max(ingested_at) DESC, run_id
        """;

    private ServiceProcess Persister(params (string Key, string Value)[] settings) =>
        TestServices.Persister(Redis, DataDir, Output, settings.ToDictionary(s => s.Key, s => s.Value));

    private static string Error(string runId, long seq, bool fatal, string ts = "2026-11-23T10:09:00Z") => string.Create(CultureInfo.InvariantCulture,
        $$$"""{"event_id":"{{{runId}}}:err{{{seq}}}","run_id":"{{{runId}}}","seq":{{{seq}}},"type":"error","schema_version":1,"ts":"{{{ts}}}","payload":{"message":"boom","fatal":{{{(fatal ? "true" : "false")}}}}}""");

    [Fact]
    public async Task Summary_equals_a_grouping_of_every_event_after_a_kill_and_a_full_redelivery()
    {
        for (var r = 0; r < 6; r++)
        {
            foreach (var batch in Events.Run($"run-{r}", 150).Chunk(50))
            {
                await Events.AcceptedAsync(await Events.PostAsync(Ingest.Http, Events.Array(batch)));
            }
        }
        string[] endings = [Events.GameEnd("run-1", ("a", 1), ("b", 2)), Error("run-2", 200, fatal: true), Error("run-3", 200, fatal: false),
            Error("run-4", 200, fatal: true), Events.GameEnd("run-4", ("a", 2), ("b", 1))];
        await Events.AcceptedAsync(await Events.PostAsync(Ingest.Http, Events.Array(endings)));

        // Killed between the third commit and its ack: the restart writes that batch again, through the fallback path.
        await using (var crashing = Persister([("Persister__BatchSize", "100"), .. FaultInjection.KillAfterCommits(3)]))
        {
            Assert.Equal(137, await crashing.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        }
        await using (var restarted = await Persister(("Persister__BatchSize", "100")).WaitReadyAsync())
        {
            await Wait.UntilAsync(() => ConsumerGroups.CaughtUpAsync(Db), "the restarted persister to drain");
            await StopAsync(restarted);
        }

        // Every entry delivered once more: each batch is all redelivered rows and may add nothing.
        await Db.ExecuteAsync("XGROUP", "SETID", PipelineState.Stream, "persister", "0");
        List<Run> listed;
        await using (var again = await Persister(("Persister__BatchSize", "100")).WaitReadyAsync())
        {
            await Wait.UntilAsync(() => ConsumerGroups.CaughtUpAsync(Db), "the second pass");
            listed = await ListedAsync(again);
            await StopAsync(again);
        }

        Assert.Equal(Grouped(), listed);
        var status = listed.ToDictionary(r => r.RunId, r => r.Status);
        Assert.Equal(("running", "finished", "failed", "running", "finished"), (status["run-0"], status["run-1"], status["run-2"], status["run-3"], status["run-4"]));
        Assert.Equal(151, listed.Single(r => r.RunId == "run-1").Events);
    }

    [Fact]
    public async Task A_file_written_by_an_earlier_persister_is_summarised_at_start_up_and_kept_from_there()
    {
        using (var connection = new DuckDBConnection($"Data Source={Path.Combine(DataDir, "persister.duckdb")}"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = """
                CREATE TABLE events (
                    stream_partition INTEGER NOT NULL, stream_ms BIGINT NOT NULL, stream_seq BIGINT NOT NULL,
                    event_id VARCHAR NOT NULL, run_id VARCHAR NOT NULL, seq BIGINT NOT NULL, type VARCHAR NOT NULL,
                    schema_version INTEGER NOT NULL, ts TIMESTAMPTZ NOT NULL, ingested_at TIMESTAMPTZ NOT NULL,
                    envelope JSON NOT NULL, producer VARCHAR,
                    PRIMARY KEY (stream_partition, stream_ms, stream_seq));
                INSERT INTO events
                SELECT 0, 1000 + i, 0, 'e' || i, 'old-' || (i % 4), i, CASE WHEN i = 7 THEN 'error' WHEN i = 10 THEN 'game_end' ELSE 'turn_start' END, 1,
                       TIMESTAMPTZ '2026-11-23 10:00:00+00' + to_seconds(i), TIMESTAMPTZ '2026-11-24 10:00:00+00' + to_seconds(i % 5),
                       CASE WHEN i = 7 THEN '{"payload":{"message":"x","fatal":true}}' ELSE '{"payload":{}}' END, NULL
                FROM range(40) t(i);
                """;
            command.ExecuteNonQuery();
        }
        var grouped = Grouped();

        await using var persister = await Persister().WaitReadyAsync();
        var atStart = await ListedAsync(persister);

        // Live batches on top: a run of the file goes on and fails, a new one starts; a timestamp
        // finer than the file keeps (100 ns, not UTC) is listed as stored.
        string[] more = [.. Events.Run("old-1", 3, firstSeq: 100), Error("old-1", 200, fatal: true, ts: "2026-11-23T13:00:00.1234567+02:00"), .. Events.Run("new-0", 2)];
        await Events.AcceptedAsync(await Events.PostAsync(Ingest.Http, Events.Array(more)));
        await Wait.UntilAsync(() => ConsumerGroups.CaughtUpAsync(Db), "the persister to store the new events");
        var afterMore = await ListedAsync(persister);
        await StopAsync(persister);

        Assert.Equal(grouped, atStart);
        Assert.Equal(["running", "running", "finished", "failed"], atStart.OrderBy(r => r.RunId).Select(r => r.Status));
        Assert.Equal(Grouped(), afterMore);
        Assert.Equal(("failed", "running", 14L), (afterMore.Single(r => r.RunId == "old-1").Status, afterMore.Single(r => r.RunId == "new-0").Status,
            afterMore.Single(r => r.RunId == "old-1").Events));
    }

    private sealed record Run(string RunId, long Events, DateTimeOffset FirstTs, DateTimeOffset LastTs, string Status);

    private static async Task<List<Run>> ListedAsync(ServiceProcess persister)
    {
        using var doc = JsonDocument.Parse(await persister.Http.GetStringAsync("/v1/runs?limit=10000"));
        return [.. doc.RootElement.GetProperty("runs").EnumerateArray().Select(r => new Run(
            r.GetProperty("run_id").GetString()!, r.GetProperty("events").GetInt64(),
            r.GetProperty("first_ts").GetDateTimeOffset(), r.GetProperty("last_ts").GetDateTimeOffset(), r.GetProperty("status").GetString()!))];
    }

    private List<Run> Grouped()
    {
        using var connection = new DuckDBConnection($"Data Source={Path.Combine(DataDir, "persister.duckdb")};ACCESS_MODE=READ_ONLY");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = FromEveryEvent;
        using var reader = command.ExecuteReader();
        var runs = new List<Run>();
        while (reader.Read())
        {
            runs.Add(new Run(reader.GetString(0), reader.GetInt64(1), Utc(reader.GetDateTime(2)), Utc(reader.GetDateTime(3)), reader.GetString(4)));
        }
        return runs;
    }

    private static DateTimeOffset Utc(DateTime value) => new(value.Kind == DateTimeKind.Local ? value.ToUniversalTime() : DateTime.SpecifyKind(value, DateTimeKind.Utc));

    private static async Task StopAsync(ServiceProcess persister)
    {
        Assert.Equal(0, await persister.TerminateAsync(TimeSpan.FromSeconds(60)));
    }
}
