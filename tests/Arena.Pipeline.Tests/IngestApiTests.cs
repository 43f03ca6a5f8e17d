using System.Net;
using System.Text;
using System.Text.Json;
using Arena.Contracts;
using Arena.Pipeline.Tests.Infrastructure;
using StackExchange.Redis;

namespace Arena.Pipeline.Tests;

/// <summary>Every status code of <c>POST /v1/events</c>, against a real ingest process and Redis.</summary>
public sealed class IngestApiTests(ITestOutputHelper output) : PipelineTest(output)
{
    protected override IDictionary<string, string>? IngestSettings => new Dictionary<string, string>
    {
        ["Arena__ApiKeys"] = $"{Key}, test-key-2",
        ["Ingest__MaxBodyBytes"] = "65536",
        ["Ingest__MaxEvents"] = "50",
        ["Ingest__MaxEventBytes"] = "2048",
        ["Ingest__MaxStreamLength"] = "1000",
    };

    private const string Key = "test-key-1";
    private static readonly string Stream = StreamKeys.Events(0);

    private Task<HttpResponseMessage> Post(string body, string contentType = "application/json", string? key = Key) =>
        Events.PostAsync(Ingest.Http, body, contentType, key);

    [Fact]
    public async Task Single_envelope_is_accepted_and_stored_in_canonical_form()
    {
        var results = await Events.AcceptedAsync(await Post(Events.TurnStart("run-a", 1, "run-a:1")));

        var (eventId, streamId, duplicate) = Assert.Single(results);
        Assert.Equal("run-a:1", eventId);
        Assert.False(duplicate);
        var entry = Assert.Single(await Db.StreamRangeAsync(Stream, streamId, streamId));
        Assert.Equal("run-a:1", entry[StreamFields.EventId]);
        Assert.Equal("run-a", entry[StreamFields.RunId]);
        Assert.Equal("turn_start", entry[StreamFields.Type]);
        Assert.StartsWith("{\"event_id\":\"run-a:1\",\"run_id\":\"run-a\"", entry[StreamFields.Envelope].ToString());
        Assert.True(long.TryParse(entry[StreamFields.IngestedAt].ToString(), out _));
    }

    [Fact]
    public async Task Array_and_ndjson_are_answered_in_request_order()
    {
        var events = Events.Run("run-b", 5);

        var fromArray = await Events.AcceptedAsync(await Post(Events.Array(events.Take(3))));
        var fromNdjson = await Events.AcceptedAsync(await Post(string.Join("\n", events.Skip(3)) + "\n", "application/x-ndjson"));

        Assert.Equal(["run-b:1", "run-b:2", "run-b:3"], fromArray.Select(r => r.EventId));
        Assert.Equal(["run-b:4", "run-b:5"], fromNdjson.Select(r => r.EventId));
        var ids = fromArray.Concat(fromNdjson).Select(r => StreamId.Parse(r.StreamId)).ToList();
        Assert.Equal(ids.Order(), ids);
        Assert.Equal(5, (await Db.StreamRangeAsync(Stream)).Count(e => e[StreamFields.RunId] == "run-b"));
    }

    [Fact]
    public async Task Producer_trace_context_travels_with_the_entry()
    {
        const string TraceId = "4bf92f3577b34da6a3ce929d0e0e4736";
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/events") { Content = Events.Json(Events.TurnStart("run-t", 1)) };
        request.Headers.Add("X-Api-Key", Key);
        request.Headers.Add("traceparent", $"00-{TraceId}-00f067aa0ba902b7-01");

        var result = Assert.Single(await Events.AcceptedAsync(await Ingest.Http.SendAsync(request)));

        var entry = Assert.Single(await Db.StreamRangeAsync(Stream, result.StreamId, result.StreamId));
        Assert.StartsWith($"00-{TraceId}-", entry[StreamFields.TraceParent].ToString());
    }

    [Fact]
    public async Task Event_without_event_id_gets_a_uuid_v7()
    {
        var result = Assert.Single(await Events.AcceptedAsync(await Post(Events.TurnStart("run-c", 1))));

        Assert.True(Guid.TryParse(result.EventId, out var id));
        Assert.Equal(7, id.Version);
    }

    [Fact]
    public async Task Resent_event_id_returns_the_original_stream_id_and_adds_nothing()
    {
        var batch = Events.Array(Events.Run("run-d", 10));
        var first = await Events.AcceptedAsync(await Post(batch));
        var length = await Db.StreamLengthAsync(Stream);

        var second = await Events.AcceptedAsync(await Post(batch));

        Assert.All(first, r => Assert.False(r.Duplicate));
        Assert.All(second, r => Assert.True(r.Duplicate));
        Assert.Equal(first.Select(r => r.StreamId), second.Select(r => r.StreamId));
        Assert.Equal(length, await Db.StreamLengthAsync(Stream));
        var remembered = await DedupeMemory.FindAsync(Db, 0, "run-d", "run-d:1", TimeSpan.FromMinutes(10));
        Assert.Equal(first[0].StreamId, remembered?.StreamId);
        // Remembered for between one and two windows (10 minutes by default).
        var ttl = await Db.KeyTimeToLiveAsync(remembered!.Value.Bucket);
        Assert.InRange(ttl!.Value, TimeSpan.FromMinutes(9), TimeSpan.FromMinutes(20));
    }

    [Fact]
    public async Task Same_event_id_in_two_runs_is_two_events_and_each_resent_is_its_own_duplicate()
    {
        var inRunX = Events.TurnStart("run-x", 1, "shared-1");
        var inRunY = Events.TurnStart("run-y", 1, "shared-1");

        var x = Assert.Single(await Events.AcceptedAsync(await Post(inRunX)));
        var y = Assert.Single(await Events.AcceptedAsync(await Post(inRunY)));
        var resent = await Events.AcceptedAsync(await Post(Events.Array([inRunY, inRunX])));

        Assert.False(x.Duplicate);
        Assert.False(y.Duplicate);
        Assert.NotEqual(x.StreamId, y.StreamId);
        Assert.Equal([(y.StreamId, true), (x.StreamId, true)], resent.Select(r => (r.StreamId, r.Duplicate)));
        Assert.Equal(["run-x", "run-y"], (await Db.StreamRangeAsync(Stream)).Select(e => e[StreamFields.RunId].ToString()));
    }

    [Fact]
    public async Task Same_event_id_in_two_runs_of_one_request_is_two_events()
    {
        var results = await Events.AcceptedAsync(await Post(Events.Array([Events.TurnStart("run-x", 1, "shared-2"), Events.TurnStart("run-y", 1, "shared-2")])));

        Assert.All(results, r => Assert.False(r.Duplicate));
        Assert.Equal(2, results.Select(r => r.StreamId).Distinct().Count());
        Assert.Equal(2, await Db.StreamLengthAsync(Stream));
    }

    [Fact]
    public async Task Event_remembered_in_the_next_bucket_by_an_ingest_whose_clock_runs_ahead_is_a_duplicate()
    {
        // Another ingest, its clock a window ahead, remembered the id in the bucket after this one's current one.
        var window = TimeSpan.FromMinutes(10);
        var next = DedupeMemory.Buckets(0, window).Last();
        const string Original = "1700000000000-7";
        await Db.HashSetAsync(next, StreamKeys.DedupeField("run-n", "run-n:1"), Original);

        var resent = Assert.Single(await Events.AcceptedAsync(await Post(Events.TurnStart("run-n", 1, "run-n:1"))));

        Assert.True(resent.Duplicate);
        Assert.Equal(Original, resent.StreamId);
        Assert.Equal(0, await Db.StreamLengthAsync(Stream));
    }

    [Fact]
    public async Task Event_resent_within_the_window_across_a_bucket_boundary_is_a_duplicate()
    {
        // Ids are kept in hashes per time bucket as wide as the window: the original goes just
        // before a boundary, the re-send just after it, into the next bucket.
        var window = TimeSpan.FromSeconds(3);
        await using var ingest = await TestServices.Ingest(Redis, Output, new Dictionary<string, string> { ["Ingest__DedupeWindow"] = "00:00:03" }).WaitReadyAsync();
        var windowMs = (long)window.TotalMilliseconds;
        for (var attempt = 1; ; attempt++)
        {
            var evt = Events.TurnStart("run-b", attempt, $"run-b:{attempt}");
            // The last third of a bucket: wide enough that a loaded machine's polling does not step over it.
            await Wait.UntilAsync(() => Task.FromResult(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() % windowMs is >= 2_000 and < 2_800), "the end of a bucket", window * 4);
            var sent = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            var first = Assert.Single(await Events.AcceptedAsync(await Events.PostAsync(ingest.Http, evt)));
            await Wait.UntilAsync(() => Task.FromResult(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / windowMs > sent / windowMs), "the next bucket", window * 2);
            var resent = Assert.Single(await Events.AcceptedAsync(await Events.PostAsync(ingest.Http, evt)));
            var stalled = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - sent >= windowMs || StreamId.Parse(first.StreamId).Milliseconds / windowMs != sent / windowMs;
            if (stalled && attempt < 5)
            {
                continue; // the re-send may have come after the window, or the original after the boundary: that proves nothing
            }

            Assert.False(first.Duplicate);
            Assert.True(resent.Duplicate);
            Assert.Equal(first.StreamId, resent.StreamId);
            return;
        }
    }

    [Fact]
    public async Task Event_resent_after_the_dedupe_window_is_a_new_entry()
    {
        await using var ingest = await TestServices.Ingest(Redis, Output, new Dictionary<string, string> { ["Ingest__DedupeWindow"] = "00:00:01" }).WaitReadyAsync();
        var evt = Events.TurnStart("run-w", 1, "run-w:1");

        var first = Assert.Single(await Events.AcceptedAsync(await Events.PostAsync(ingest.Http, evt)));
        await Wait.UntilAsync(async () => await DedupeMemory.FindAsync(Db, 0, "run-w", "run-w:1", TimeSpan.FromSeconds(1)) is null, "the dedupe window to pass", TimeSpan.FromSeconds(5));
        var second = Assert.Single(await Events.AcceptedAsync(await Events.PostAsync(ingest.Http, evt)));

        Assert.False(second.Duplicate);
        Assert.NotEqual(first.StreamId, second.StreamId);
        Assert.Equal(2, await Db.StreamLengthAsync(Stream));
    }

    [Fact]
    public async Task Same_event_id_twice_in_one_request_is_written_once()
    {
        var evt = Events.TurnStart("run-e", 1, "run-e:1");

        var results = await Events.AcceptedAsync(await Post(Events.Array([evt, evt])));

        Assert.False(results[0].Duplicate);
        Assert.True(results[1].Duplicate);
        Assert.Equal(results[0].StreamId, results[1].StreamId);
        Assert.Equal(1, (await Db.StreamRangeAsync(Stream)).Count(e => e[StreamFields.RunId] == "run-e"));
    }

    [Fact]
    public async Task Large_request_is_written_in_order_with_a_repeat_across_script_calls_written_once()
    {
        // More events than one script call takes: the repeat of event 10 lands in a later call.
        var events = Events.Run("run-l", 250);
        events.Add(Events.TurnStart("run-l", 10, "run-l:10"));

        await using var ingest = await TestServices.Ingest(Redis, Output).WaitReadyAsync(); // the default limit of 1,000 events
        var results = await Events.AcceptedAsync(await Events.PostAsync(ingest.Http, Events.Array(events)));

        Assert.Equal(251, results.Count);
        Assert.True(results[250].Duplicate);
        Assert.Equal(results[9].StreamId, results[250].StreamId);
        var stored = (await Db.StreamRangeAsync(Stream)).Where(e => e[StreamFields.RunId] == "run-l").ToList();
        Assert.Equal(results.Take(250).Select(r => r.StreamId), stored.Select(e => e.Id.ToString()));
    }

    [Fact]
    public async Task One_invalid_event_rejects_the_whole_request_and_writes_nothing()
    {
        var events = Events.Run("run-f", 3);
        events[1] = events[1].Replace("\"seq\":2", "\"seq\":\"two\"", StringComparison.Ordinal);

        var response = await Post(Events.Array(events));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await Events.ReadJsonAsync(response);
        var error = Assert.Single(problem.GetProperty("errors").EnumerateArray());
        Assert.Equal(1, error.GetProperty("index").GetInt32());
        Assert.Equal("seq", error.GetProperty("field").GetString());
        Assert.Contains("integer", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(0, await Db.StreamLengthAsync(Stream));
    }

    public static TheoryData<string, string, string> MalformedBodies() => new()
    {
        { "application/json", "{\"run_id\":", "not valid JSON" },
        { "application/json", "", "not valid JSON" },
        { "application/json", "[]", "no events" },
        { "application/json", "\"just a string\"", "must be a JSON object" },
        { "application/json", new string('[', 100) + new string(']', 100), "not valid JSON" },
        { "application/json", "{\"run_id\":\"a\",\"run_id\":\"b\"}", "not valid JSON" },
        { "application/x-ndjson", Events.TurnStart("r", 1) + "\n{broken\n", "line 2" },
        { "application/x-ndjson", "\n\n", "no events" },
        { "application/json", "{\"run_id\":\"r\",\"seq\":1,\"type\":\"game_end\",\"schema_version\":1,\"ts\":\"2026-11-23T10:00:00Z\",\"payload\":{\"results\":[]}}", "payload.results" },
    };

    [Theory]
    [MemberData(nameof(MalformedBodies))]
    public async Task Malformed_request_gets_400_with_a_precise_message_and_writes_nothing(string contentType, string body, string expected)
    {
        var response = await Post(body, contentType);

        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{(int)response.StatusCode}: {text}");
        Assert.Contains(expected, text, StringComparison.Ordinal);
        Assert.Equal(0, await Db.StreamLengthAsync(Stream));
        Assert.True((await Ingest.Http.GetAsync("/healthz")).IsSuccessStatusCode);
    }

    public static TheoryData<string, string> EventsNoConsumerCouldTake() => new()
    {
        // The ranker could not place a rank beyond the players: refused here, not dead-lettered there.
        { Events.GameEnd("run-r", ("A", 1), ("B", 3)), "payload.results[1].rank" },
        // The pipeline's own types and run: a producer's event must not pass for the pipeline's.
        { Events.TurnStart("run-s", 1).Replace("turn_start", EventTypes.StreamOverflow, StringComparison.Ordinal), "type" },
        { Events.TurnStart("run-s", 1).Replace("turn_start", EventTypes.LeaderboardUpdated, StringComparison.Ordinal), "type" },
        { Events.TurnStart(PipelineRun.Id, 1), "run_id" },
    };

    [Theory]
    [MemberData(nameof(EventsNoConsumerCouldTake))]
    public async Task Event_no_consumer_could_take_gets_400_naming_its_field_and_writes_nothing(string body, string field)
    {
        var response = await Post(body);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = Assert.Single((await Events.ReadJsonAsync(response)).GetProperty("errors").EnumerateArray());
        Assert.Equal(field, error.GetProperty("field").GetString());
        Assert.Equal(0, await Db.StreamLengthAsync(Stream));
    }

    [Fact]
    public async Task Invalid_utf8_is_rejected()
    {
        var bytes = Encoding.UTF8.GetBytes(Events.TurnStart("run-g", 1).Replace("p1", "p\u00e9", StringComparison.Ordinal));
        var at = Array.IndexOf(bytes, (byte)0xC3);
        bytes[at + 1] = 0x28; // a lead byte followed by a non-continuation byte

        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/events") { Content = Events.Raw(bytes, "application/json") };
        request.Headers.Add("X-Api-Key", Key);
        var response = await Ingest.Http.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("UTF-8", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(0, await Db.StreamLengthAsync(Stream));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("wrong-key")]
    [InlineData("test-key-1x")]
    public async Task Missing_or_wrong_api_key_gets_401(string? key)
    {
        var response = await Post(Events.TurnStart("run-h", 1), key: key);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal(0, await Db.StreamLengthAsync(Stream));
    }

    [Fact]
    public async Task Every_configured_key_is_accepted_also_as_x_api_key()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/events") { Content = Events.Json(Events.TurnStart("run-i", 1)) };
        request.Headers.Add("X-Api-Key", "test-key-2");

        Assert.Equal(HttpStatusCode.Accepted, (await Ingest.Http.SendAsync(request)).StatusCode);
    }

    [Fact]
    public async Task Too_large_requests_get_413_and_write_nothing()
    {
        var tooMany = await Post(Events.Array(Events.Run("run-j", 51)));
        var bigEvent = await Post(Events.TurnStart("run-j", 1).Replace("\"p1\"", $"\"p1\",\"pad\":\"{new string('x', 3000)}\"", StringComparison.Ordinal));
        var bigBody = await Post(Events.Array(Enumerable.Range(0, 40).Select(i =>
            Events.TurnStart("run-j", i).Replace("\"p1\"", $"\"p1\",\"pad\":\"{new string('x', 1800)}\"", StringComparison.Ordinal))));

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, tooMany.StatusCode);
        Assert.Contains("51 events", await tooMany.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, bigEvent.StatusCode);
        Assert.Contains("Event 0", await bigEvent.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, bigBody.StatusCode);
        Assert.Equal(0, await Db.StreamLengthAsync(Stream));
    }

    [Theory]
    [InlineData("text/plain")]
    [InlineData("application/xml")]
    [InlineData("application/json; charset=latin1")]
    public async Task Unsupported_media_type_gets_415(string contentType)
    {
        var response = await Post(Events.TurnStart("run-k", 1), contentType);

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
        Assert.Equal(0, await Db.StreamLengthAsync(Stream));
    }

    [Fact]
    public async Task Stream_is_held_to_the_hard_cap_and_what_it_removes_is_counted_as_overflow()
    {
        for (var i = 0; i < 60; i++)
        {
            await Events.AcceptedAsync(await Post(Events.Array(Enumerable.Range(0, 50).Select(s => Events.TurnStart("run-l", i * 50 + s)))));
        }

        Assert.Equal(1000, await Db.StreamLengthAsync(Stream));
        // No persister group exists, so nothing was ever committed: every removed entry counts as lost.
        Assert.Matches(@"arena_stream_overflow_lost_total\{[^}]*\} 2000\b", await Ingest.Http.GetStringAsync("/metrics"));
        Assert.Equal("2000", (await Db.HashGetAsync(StreamKeys.Overflow(0), "count")).ToString());
    }

    [Fact]
    public async Task Events_of_a_new_schema_version_and_unknown_type_are_accepted_as_is()
    {
        var body = """{"run_id":"run-m","seq":1,"type":"chat_message","schema_version":3,"ts":"2026-11-23T10:00:00Z","payload":{"results":"v3 shape"},"extra":{"a":1}}""";

        var result = Assert.Single(await Events.AcceptedAsync(await Post(body)));

        var entry = Assert.Single(await Db.StreamRangeAsync(Stream, result.StreamId, result.StreamId));
        using var stored = JsonDocument.Parse(entry[StreamFields.Envelope].ToString());
        Assert.Equal(3, stored.RootElement.GetProperty("schema_version").GetInt32());
        Assert.Equal(1, stored.RootElement.GetProperty("extra").GetProperty("a").GetInt32());
    }
}
