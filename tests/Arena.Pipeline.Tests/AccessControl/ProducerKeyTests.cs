using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Arena.Contracts;
using Arena.Pipeline.Tests.Infrastructure;
using DuckDB.NET.Data;

namespace Arena.Pipeline.Tests.AccessControl;

/// <summary>Ingest API keys with producer names: compared, recorded with each event end to end, never logged.</summary>
public sealed class ProducerKeyTests(ITestOutputHelper output) : PipelineTest(output)
{
    private const string AlphaKey = "alpha-secret-5b1f9c";
    private const string BareKey = "bare-secret-77d2e0";
    private static readonly string BareName = "key-" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(BareKey)))[..8];

    // Trace level: whatever any component logs about a request, the key-leak test sees it.
    protected override IDictionary<string, string>? IngestSettings => new Dictionary<string, string>
    {
        ["Arena__ApiKeys"] = $"alpha:{AlphaKey}, {BareKey}",
        ["Logging__LogLevel__Default"] = "Trace",
        ["Logging__LogLevel__Microsoft.AspNetCore"] = "Trace",
    };

    private async Task<HttpResponseMessage> PostAsync(string body, string? bearer = null, string? xApiKey = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/events") { Content = Events.Json(body) };
        if (bearer is not null)
        {
            request.Headers.Authorization = new("Bearer", bearer);
        }
        if (xApiKey is not null)
        {
            request.Headers.Add("X-Api-Key", xApiKey);
        }
        return await Ingest.Http.SendAsync(request);
    }

    public static TheoryData<string?, string?, HttpStatusCode> Presentations() => new()
    {
        { null, null, HttpStatusCode.Unauthorized },
        { "wrong-key", null, HttpStatusCode.Unauthorized },
        { null, AlphaKey + "x", HttpStatusCode.Unauthorized },
        { "alpha:" + AlphaKey, null, HttpStatusCode.Unauthorized },
        { AlphaKey, null, HttpStatusCode.Accepted },
        { null, AlphaKey, HttpStatusCode.Accepted },
        { BareKey, null, HttpStatusCode.Accepted },
        { null, BareKey, HttpStatusCode.Accepted },
    };

    [Theory]
    [MemberData(nameof(Presentations))]
    public async Task Key_is_required_and_compared_in_either_header(string? bearer, string? xApiKey, HttpStatusCode expected)
    {
        var response = await PostAsync(Events.TurnStart("run-k", 1), bearer, xApiKey);

        Assert.Equal(expected, response.StatusCode);
        Assert.Equal(expected == HttpStatusCode.Accepted ? 1 : 0, await Db.StreamLengthAsync(PipelineState.Stream));
        if (expected == HttpStatusCode.Unauthorized)
        {
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        }
    }

    [Fact]
    public async Task Producer_name_is_recorded_end_to_end_and_a_duplicate_keeps_the_first()
    {
        await using var persister = await TestServices.Persister(Redis, DataDir, Output).WaitReadyAsync();
        var events = Events.Run("run-p", 5);
        var first = await Events.AcceptedAsync(await PostAsync(Events.Array(events.Take(3)), bearer: AlphaKey));
        await Events.AcceptedAsync(await PostAsync(Events.Array(events.Skip(3)), xApiKey: BareKey));
        // Event 1 again, from the other producer: answered as a duplicate, its producer unchanged.
        var again = Assert.Single(await Events.AcceptedAsync(await PostAsync(Events.Array(events.Take(1)), xApiKey: BareKey)));
        Assert.True(again.Duplicate);
        Assert.Equal(first[0].StreamId, again.StreamId);

        var entry = Assert.Single(await Db.StreamRangeAsync(PipelineState.Stream, first[0].StreamId, first[0].StreamId));
        Assert.Equal("alpha", entry[StreamFields.Producer]);
        var history = await HistoryAsync(persister, "run-p", 5);
        Assert.Equal(["alpha", "alpha", "alpha", BareName, BareName], history.Select(Producer));
        Assert.Equal(Enumerable.Range(1, 5).Select(i => $"run-p:{i}"), history.Select(e => e.GetProperty("event_id").GetString()));
    }

    [Fact]
    public async Task Event_naming_its_own_producer_gets_400_and_writes_nothing()
    {
        // Served beside the key's name, a producer's own field would give readers two, the forged one last.
        var forged = Events.TurnStart("run-f", 1).Replace("{\"run_id\"", "{\"producer\":\"alpha\",\"run_id\"", StringComparison.Ordinal);

        var response = await PostAsync(forged, bearer: BareKey);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = Assert.Single((await Events.ReadJsonAsync(response)).GetProperty("errors").EnumerateArray());
        Assert.Equal(CanonicalEnvelope.ProducerField, error.GetProperty("field").GetString());
        Assert.Equal(0, await Db.StreamLengthAsync(PipelineState.Stream));
    }

    [Fact]
    public async Task Open_ingest_records_no_producer()
    {
        await using var open = await TestServices.Ingest(Redis, Output).WaitReadyAsync();
        await using var persister = await TestServices.Persister(Redis, DataDir, Output).WaitReadyAsync();

        var result = Assert.Single(await Events.AcceptedAsync(await Events.PostAsync(open.Http, Events.TurnStart("run-o", 1, "run-o:1"))));

        var entry = Assert.Single(await Db.StreamRangeAsync(PipelineState.Stream, result.StreamId, result.StreamId));
        Assert.True(entry[StreamFields.Producer].IsNull);
        Assert.False(Assert.Single(await HistoryAsync(persister, "run-o", 1)).TryGetProperty("producer", out _));
    }

    [Fact]
    public async Task A_store_written_before_producers_gains_the_column_and_keeps_its_rows()
    {
        using (var old = new DuckDBConnection($"Data Source={Path.Combine(DataDir, "persister.duckdb")}"))
        {
            old.Open();
            using var command = old.CreateCommand();
            command.CommandText = """
                CREATE TABLE events (stream_partition INTEGER NOT NULL, stream_ms BIGINT NOT NULL, stream_seq BIGINT NOT NULL,
                    event_id VARCHAR NOT NULL, run_id VARCHAR NOT NULL, seq BIGINT NOT NULL, type VARCHAR NOT NULL,
                    schema_version INTEGER NOT NULL, ts TIMESTAMPTZ NOT NULL, ingested_at TIMESTAMPTZ NOT NULL, envelope JSON NOT NULL,
                    PRIMARY KEY (stream_partition, stream_ms, stream_seq));
                INSERT INTO events VALUES (0, 1, 0, 'run-m:1', 'run-m', 1, 'turn_start', 1, '2026-11-23T10:00:00Z', '2026-11-23T10:00:00Z',
                    '{"event_id":"run-m:1","run_id":"run-m","seq":1,"type":"turn_start","schema_version":1,"ts":"2026-11-23T10:00:00Z","payload":{"turn":1,"player_id":"p1"}}');
                """;
            command.ExecuteNonQuery();
        }
        await using var persister = await TestServices.Persister(Redis, DataDir, Output).WaitReadyAsync();

        await Events.AcceptedAsync(await PostAsync(Events.TurnStart("run-m", 2, "run-m:2"), bearer: AlphaKey));

        var history = await HistoryAsync(persister, "run-m", 2);
        Assert.Equal([null, "alpha"], history.Select(Producer));
    }

    [Fact]
    public async Task Keys_never_appear_in_the_output_of_ingest()
    {
        await PostAsync(Events.TurnStart("run-l", 1), bearer: AlphaKey);
        await PostAsync(Events.TurnStart("run-l", 2), xApiKey: BareKey);
        await PostAsync(Events.TurnStart("run-l", 3), bearer: AlphaKey + "-wrong");
        await PostAsync(Events.TurnStart("run-l", 4), xApiKey: "not-" + BareKey);
        await PostAsync("{broken", bearer: AlphaKey);
        var metrics = await Ingest.Http.GetStringAsync("/metrics");

        var logged = Ingest.Output;
        Assert.Contains("/v1/events", logged, StringComparison.Ordinal);
        foreach (var secret in new[] { AlphaKey, BareKey })
        {
            Assert.DoesNotContain(secret, logged, StringComparison.Ordinal);
            Assert.DoesNotContain(secret, metrics, StringComparison.Ordinal);
        }
        Output.WriteLine($"{logged.Split('\n').Length} lines of trace-level output, no key in them");
    }

    [Fact]
    public async Task Malformed_key_settings_stop_ingest_naming_the_entry_but_not_the_key()
    {
        await using var ingest = TestServices.Ingest(Redis, Output, new Dictionary<string, string>
        {
            ["Arena__ApiKeys"] = $"alpha:{AlphaKey},beta:{AlphaKey},bad name:{BareKey},gamma:",
        });

        Assert.Equal(2, await ingest.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        var logged = ingest.Output;
        Assert.Contains("Arena:ApiKeys entry 2 repeats the key of an earlier entry", logged, StringComparison.Ordinal);
        Assert.Contains("Arena:ApiKeys entry 3: the producer name 'bad name'", logged, StringComparison.Ordinal);
        Assert.Contains("Arena:ApiKeys entry 4 has no key", logged, StringComparison.Ordinal);
        Assert.DoesNotContain(AlphaKey, logged, StringComparison.Ordinal);
        Assert.DoesNotContain(BareKey, logged, StringComparison.Ordinal);
    }

    private static string? Producer(JsonElement e) => e.TryGetProperty("producer", out var p) ? p.GetString() : null;

    private static async Task<List<JsonElement>> HistoryAsync(ServiceProcess persister, string runId, int count)
    {
        List<JsonElement> events = [];
        await Wait.UntilAsync(async () =>
        {
            using var page = JsonDocument.Parse(await persister.Http.GetStringAsync($"/v1/runs/{runId}/events"));
            events = [.. page.RootElement.GetProperty("events").EnumerateArray().Select(e => e.Clone())];
            return events.Count == count;
        }, $"{count} events of {runId} in the history");
        return events;
    }
}
