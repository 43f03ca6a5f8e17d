using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Arena.Contracts;
using Arena.Pipeline.Tests.Infrastructure;

namespace Arena.Pipeline.Tests;

/// <summary>
/// <c>GET /v1/export</c>: the stored events of every run, of a range of <c>ts</c>, of some types or
/// of one run, in stream order as NDJSON, CSV and Parquet, from a real persister process and its
/// DuckDB file; events go straight onto the stream.
/// </summary>
public sealed class ExportTests(ITestOutputHelper output) : PipelineTest(output)
{
    /// <summary>An event stored by the test: its stream ID and the envelope as it went onto the stream.</summary>
    private sealed record Stored(string StreamId, string EventId, string RunId, string Type, DateTimeOffset Ts, string Envelope);

    private static readonly DateTimeOffset Start = new(2026, 11, 23, 23, 0, 0, TimeSpan.Zero);

    /// <summary>An envelope of <paramref name="type"/> at <paramref name="ts"/>, whose payload holds commas and quotes for CSV to quote.</summary>
    private static string Envelope(string runId, int seq, string type, DateTimeOffset ts) => string.Create(CultureInfo.InvariantCulture,
        $$$"""{"event_id":"{{{runId}}}:{{{seq}}}","run_id":"{{{runId}}}","seq":{{{seq}}},"type":"{{{type}}}","schema_version":1,"ts":"{{{ts:yyyy-MM-dd'T'HH:mm:ss.fff'Z'}}}","payload":{"turn":{{{seq}}},"player_id":"p1","note":"a, \"quoted\" note"}}""");

    /// <summary>Three runs of 40 events each, interleaved, a minute apart in <c>ts</c> across midnight, of three types; returns them in stream order once stored.</summary>
    private async Task<(ServiceProcess Persister, List<Stored> Events)> StoreAsync(string? readToken = null)
    {
        string[] types = ["turn_start", "action", "commentary"];
        var events = new List<Stored>();
        for (var i = 0; i < 120; i++)
        {
            var run = $"run-{i % 3}";
            var ts = Start.AddMinutes(i);
            var type = types[i / 3 % 3];
            var envelope = Envelope(run, i / 3, type, ts);
            var id = await Db.StreamAddAsync(PipelineState.Stream, "envelope", envelope);
            events.Add(new Stored(id.ToString(), $"{run}:{i / 3}", run, type, ts, envelope));
        }
        var persister = await TestServices.Persister(Redis, DataDir, Output,
            readToken is null ? null : new Dictionary<string, string> { ["Arena__ReadToken"] = readToken }).WaitReadyAsync();
        persister.Http.DefaultRequestHeaders.Authorization = readToken is null ? null : new AuthenticationHeaderValue("Bearer", readToken);
        await Wait.UntilAsync(async () => await PipelineState.PersistedCountAsync(persister.Http) == events.Count, $"{events.Count} events to be stored");
        return (persister, events);
    }

    private static readonly (string Query, string FileNamePart)[] Filters =
    [
        ("", "all"),
        ("from=2026-11-23T23:30:00Z&to=2026-11-24T00:30:00.000Z", "20261123T233000Z-20261124T003000Z"),
        ("from=2026-11-24T01:00:00%2B01:00", "20261124T000000Z-"),
        ("type=action,commentary", "action+commentary"),
        ("run_id=run-1", "run-1"),
        ("run_id=run-2&type=turn_start&to=2026-11-24T01:00:00Z", "run-2_turn_start_-20261124T010000Z"),
    ];

    [Fact]
    public async Task Each_format_returns_exactly_the_stored_events_in_stream_order_that_the_filters_select()
    {
        var (persister, stored) = await StoreAsync();
        await using var _ = persister;
        foreach (var (query, fileNamePart) in Filters)
        {
            Output.WriteLine($"export ?{query}");
            await AssertExportsAsync(persister, stored, query, fileNamePart);
        }
    }

    private async Task AssertExportsAsync(ServiceProcess persister, List<Stored> stored, string query, string fileNamePart)
    {
        var expected = stored.Where(Selects(query)).ToList();
        Assert.NotEmpty(expected);
        var separator = query.Length == 0 ? "" : "&";

        // NDJSON: the envelopes as stored, each with its stream_id first, as the history pages serve them.
        using var ndjson = await persister.Http.GetAsync($"/v1/export?{query}");
        Assert.Equal(HttpStatusCode.OK, ndjson.StatusCode);
        Assert.Equal("application/x-ndjson", ndjson.Content.Headers.ContentType?.MediaType);
        Assert.Equal($"arena-events-{fileNamePart}.ndjson", ndjson.Content.Headers.ContentDisposition?.FileName?.Trim('"'));
        var lines = (await ndjson.Content.ReadAsStringAsync()).Split('\n');
        Assert.Equal("", lines[^1]);
        Assert.Equal(expected.Select(e => $"{{\"stream_id\":\"{e.StreamId}\",{e.Envelope[1..]}"), lines[..^1]);

        // CSV: a header row, then one record per event, the envelope quoted.
        using var csv = await persister.Http.GetAsync($"/v1/export?{query}{separator}format=csv");
        Assert.Equal(HttpStatusCode.OK, csv.StatusCode);
        Assert.Equal("text/csv", csv.Content.Headers.ContentType?.MediaType);
        Assert.Equal($"arena-events-{fileNamePart}.csv", csv.Content.Headers.ContentDisposition?.FileName?.Trim('"'));
        var records = ParseCsv(await csv.Content.ReadAsStringAsync());
        Assert.Equal(["stream_id", "stream_partition", "stream_ms", "stream_seq", "event_id", "run_id", "seq", "type", "schema_version", "ts", "ingested_at", "producer", "envelope"],
            records[0]);
        Assert.Equal(expected.Count, records.Count - 1);
        foreach (var (e, record) in expected.Zip(records.Skip(1)))
        {
            var id = StreamId.Parse(e.StreamId);
            Assert.Equal([e.StreamId, "0", id.Milliseconds.ToString(CultureInfo.InvariantCulture), id.Sequence.ToString(CultureInfo.InvariantCulture), e.EventId, e.RunId],
                record[..6]);
            Assert.Equal(e.Type, record[7]);
            Assert.Equal(e.Ts, DateTimeOffset.Parse(record[9], CultureInfo.InvariantCulture));
            Assert.Equal("", record[11]);
            Assert.Equal(e.Envelope, record[12]);
        }

        // Parquet, read back by DuckDB: the same columns.
        using var parquet = await persister.Http.GetAsync($"/v1/export?{query}{separator}format=parquet");
        Assert.Equal(HttpStatusCode.OK, parquet.StatusCode);
        Assert.Equal("application/vnd.apache.parquet", parquet.Content.Headers.ContentType?.MediaType);
        Assert.Equal($"arena-events-{fileNamePart}.parquet", parquet.Content.Headers.ContentDisposition?.FileName?.Trim('"'));
        var file = Path.Combine(DataDir, "export.parquet");
        await File.WriteAllBytesAsync(file, await parquet.Content.ReadAsByteArrayAsync());
        var rows = ParquetRows.Read(file);
        Assert.Equal(expected.Select(e => (e.StreamId, e.EventId, e.RunId, e.Type, e.Ts.UtcDateTime, e.Envelope)),
            rows.Select(r => (r.StreamId, r.EventId, r.RunId, r.Type, r.Ts, r.Envelope)));
    }

    [Fact]
    public async Task Without_a_format_the_Accept_header_chooses_one()
    {
        var (persister, stored) = await StoreAsync();
        await using var _ = persister;

        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/export?run_id=run-0");
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/csv"));
        using var csv = await persister.Http.SendAsync(request);

        Assert.Equal("text/csv", csv.Content.Headers.ContentType?.MediaType);
        Assert.Equal(stored.Count(e => e.RunId == "run-0") + 1, ParseCsv(await csv.Content.ReadAsStringAsync()).Count);
        using var plain = await persister.Http.GetAsync("/v1/export?run_id=run-0");
        Assert.Equal("application/x-ndjson", plain.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Bad_export_parameters_get_400_naming_the_parameter()
    {
        await using var persister = await TestServices.Persister(Redis, DataDir, Output).WaitReadyAsync();
        (string Query, string Field)[] cases =
        [
            ("format=xml", "format"),
            ("from=yesterday", "from"),
            ("from=2026-11-23T10:00:00", "from"),
            ("to=2026-02-30T10:00:00Z", "to"),
            ("from=2026-11-24T00:00:00Z&to=2026-11-23T00:00:00Z", "to"),
            ("from=2026-11-24T00:00:00Z&to=2026-11-24T00:00:00Z", "to"),
            ("type=Action", "type"),
            ("type=action,,turn_start", "type"),
            ("run_id=bad%20id", "run_id"),
            ("format=csv&run_id=r%27%3B--", "run_id"),
        ];
        foreach (var (query, field) in cases)
        {
            using var response = await persister.Http.GetAsync($"/v1/export?{query}");

            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            Assert.Equal(field, problem.RootElement.GetProperty("errors")[0].GetProperty("field").GetString());
            Output.WriteLine($"{query}: {problem.RootElement.GetProperty("detail").GetString()}");
        }
    }

    [Fact]
    public async Task An_export_needs_the_read_token_when_one_is_set()
    {
        var (persister, stored) = await StoreAsync(readToken: "export-secret");
        await using var _ = persister;
        using var anonymous = new HttpClient { BaseAddress = persister.Url };

        using var refused = await anonymous.GetAsync("/v1/export?format=csv");
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);

        using var allowed = await persister.Http.GetAsync("/v1/export");
        Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
        Assert.Equal(stored.Count, (await allowed.Content.ReadAsStringAsync()).Count(c => c == '\n'));
    }

    [Fact]
    public async Task An_export_beyond_the_read_queue_gets_503_with_Retry_After()
    {
        await Task.WhenAll(Enumerable.Range(1, 300).Select(seq => Db.StreamAddAsync(PipelineState.Stream, "envelope", Events.LargeObservation("big", seq, 60_000))));
        await using var persister = await TestServices.Persister(Redis, DataDir, Output, new Dictionary<string, string>
        {
            ["Persister__BatchSize"] = "50",
            ["Persister__MaxConcurrentReads"] = "1",
            ["Persister__MaxQueuedReads"] = "0",
        }).WaitReadyAsync();
        await Wait.UntilAsync(async () => await PipelineState.PersistedCountAsync(persister.Http) == 300, "300 events to be stored");

        // While a Parquet export holds the only read slot, with no room to wait, another export is refused before it starts.
        HttpResponseMessage? refused = null;
        for (var attempt = 0; attempt < 5 && refused is null; attempt++)
        {
            var holding = persister.Http.GetAsync("/v1/export?format=parquet");
            while (!holding.IsCompleted && refused is null)
            {
                var export = await persister.Http.GetAsync("/v1/export?format=csv&type=game_end");
                if (export.StatusCode == HttpStatusCode.ServiceUnavailable)
                {
                    refused = export;
                }
                else
                {
                    Assert.Equal(HttpStatusCode.OK, export.StatusCode);
                }
            }
            using var held = await holding;
            if (held.StatusCode == HttpStatusCode.ServiceUnavailable)
            {
                // The first CSV export reached the slot before the Parquet one: this attempt proves nothing.
                continue;
            }
            Assert.Equal("PAR1"u8.ToArray(), (await held.Content.ReadAsByteArrayAsync())[..4]);
        }

        Assert.NotNull(refused);
        Assert.Equal(TimeSpan.FromSeconds(1), refused.Headers.RetryAfter?.Delta);
        Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
        using var problem = JsonDocument.Parse(await refused.Content.ReadAsStringAsync());
        Assert.EndsWith("/reads-busy", problem.RootElement.GetProperty("type").GetString(), StringComparison.Ordinal);
        refused.Dispose();
    }

    /// <summary>What a query of the theory selects, worked out on the test's side.</summary>
    private static Func<Stored, bool> Selects(string query)
    {
        var parameters = query.Split('&', StringSplitOptions.RemoveEmptyEntries).Select(p => p.Split('=', 2)).ToDictionary(p => p[0], p => Uri.UnescapeDataString(p[1]));
        DateTimeOffset? from = parameters.TryGetValue("from", out var f) ? DateTimeOffset.Parse(f, CultureInfo.InvariantCulture) : null;
        DateTimeOffset? to = parameters.TryGetValue("to", out var t) ? DateTimeOffset.Parse(t, CultureInfo.InvariantCulture) : null;
        var types = parameters.TryGetValue("type", out var ty) ? ty.Split(',') : null;
        var run = parameters.GetValueOrDefault("run_id");
        return e => (from is null || e.Ts >= from) && (to is null || e.Ts < to) && (types is null || types.Contains(e.Type)) && (run is null || e.RunId == run);
    }

    /// <summary>RFC 4180: records end with CRLF; a quoted field may hold commas, quotes (doubled) and line breaks.</summary>
    private static List<string[]> ParseCsv(string text)
    {
        var records = new List<string[]>();
        var fields = new List<string>();
        var field = new StringBuilder();
        var quoted = false;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (quoted)
            {
                if (c == '"' && i + 1 < text.Length && text[i + 1] == '"')
                {
                    field.Append('"');
                    i++;
                }
                else if (c == '"')
                {
                    quoted = false;
                }
                else
                {
                    field.Append(c);
                }
            }
            else if (c == '"')
            {
                Assert.True(field.Length == 0, $"a quote inside an unquoted field at {i}");
                quoted = true;
            }
            else if (c == ',')
            {
                fields.Add(field.ToString());
                field.Clear();
            }
            else if (c == '\r')
            {
                Assert.Equal('\n', text[i + 1]);
                i++;
                fields.Add(field.ToString());
                field.Clear();
                records.Add([.. fields]);
                fields.Clear();
            }
            else
            {
                Assert.NotEqual('\n', c);
                field.Append(c);
            }
        }
        Assert.False(quoted, "an unterminated quoted field");
        Assert.True(fields.Count == 0 && field.Length == 0, "the last record does not end with CRLF");
        return records;
    }
}
