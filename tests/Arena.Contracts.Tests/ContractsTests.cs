using System.Text;
using System.Text.Json;
using Arena.Contracts.Validation;

namespace Arena.Contracts.Tests;

public sealed class PartitionerTests
{
    [Fact]
    public void One_partition_takes_every_run()
    {
        Assert.Equal(0, Partitioner.PartitionOf("anything", 1));
    }

    [Theory]
    // FNV-1a 32 of the UTF-8 bytes, values computed by an independent implementation: fixed forever, so every producer and service agrees.
    [InlineData("run-1", 4, 0)]
    [InlineData("run-2", 4, 1)]
    [InlineData("aoe2-20261126-0001", 16, 7)]
    public void Partition_is_fnv1a_of_the_run_id(string runId, int partitions, int expected)
    {
        Assert.Equal(expected, Partitioner.PartitionOf(runId, partitions));
    }

    [Fact]
    public void Runs_spread_over_all_partitions()
    {
        var counts = new int[8];
        for (var i = 0; i < 8000; i++)
        {
            counts[Partitioner.PartitionOf($"run-{i}", 8)]++;
        }
        Assert.All(counts, c => Assert.InRange(c, 800, 1200));
    }
}

public sealed class StreamIdTests
{
    [Fact]
    public void Ids_order_numerically_not_as_text()
    {
        var small = StreamId.Parse("999-5");
        var large = StreamId.Parse("1000-0");
        Assert.True(small < large);
        Assert.True(StreamId.Parse("1000-9") < StreamId.Parse("1000-10"));
        Assert.True(string.CompareOrdinal("999-5", "1000-0") > 0);
    }

    [Theory]
    [InlineData("")]
    [InlineData("12")]
    [InlineData("-1")]
    [InlineData("1-")]
    [InlineData("a-1")]
    [InlineData("1-2-3")]
    [InlineData(" 1-2")]
    [InlineData("99999999999999999999-0")]
    public void Malformed_ids_are_rejected(string text)
    {
        Assert.False(StreamId.TryParse(text, out _));
    }

    [Fact]
    public void Previous_is_the_greatest_id_below()
    {
        Assert.Equal(StreamId.Parse("5-2"), StreamId.Parse("5-3").Previous());
        Assert.Equal(new StreamId(4, long.MaxValue), StreamId.Parse("5-0").Previous());
        Assert.True(StreamId.Parse("5-0").Previous() < StreamId.Parse("5-0"));
        Assert.Equal(StreamId.Zero, StreamId.Zero.Previous());
    }

    [Fact]
    public void Id_round_trips_through_text()
    {
        Assert.Equal("1732356000123-7", StreamId.Parse("1732356000123-7").ToString());
    }
}

public sealed class EnvelopeTests
{
    private const string Event = """
        {"run_id":"r1","harness":"h7","seq":3,"type":"turn_start","schema_version":1,"ts":"2026-11-23T10:00:00.123Z","payload":{"turn":1,"player_id":"p1","extra":[1,2]}}
        """;

    [Fact]
    public void Canonical_envelope_puts_the_event_id_first_and_keeps_every_field()
    {
        using var doc = JsonDocument.Parse(Event);
        var evt = EnvelopeValidator.Validate(doc.RootElement, 0, [])!;

        var json = Encoding.UTF8.GetString(CanonicalEnvelope.Write(evt, "assigned-1"));

        Assert.StartsWith("{\"event_id\":\"assigned-1\",\"run_id\":\"r1\",\"harness\":\"h7\"", json);
        Assert.Contains("\"extra\":[1,2]", json);
        Assert.DoesNotContain(" ", json);
    }

    [Fact]
    public void Producer_event_id_is_not_written_twice()
    {
        using var doc = JsonDocument.Parse(Event.Replace("{\"run_id\"", "{\"seq_note\":1,\"event_id\":\"mine\",\"run_id\"", StringComparison.Ordinal));
        var evt = EnvelopeValidator.Validate(doc.RootElement, 0, [])!;

        var json = Encoding.UTF8.GetString(CanonicalEnvelope.Write(evt, evt.EventId!));

        Assert.Equal(1, json.Split("\"event_id\"").Length - 1);
        Assert.StartsWith("{\"event_id\":\"mine\"", json);
    }

    [Fact]
    public void Header_reads_back_what_was_validated()
    {
        using var doc = JsonDocument.Parse(Event);
        var evt = EnvelopeValidator.Validate(doc.RootElement, 0, [])!;
        var json = CanonicalEnvelope.Write(evt, "e-1");

        var header = EnvelopeHeader.TryRead(json, out var problem);

        Assert.Null(problem);
        Assert.Equal(new EnvelopeHeader("e-1", "r1", 3, "turn_start", 1, DateTimeOffset.Parse("2026-11-23T10:00:00.123Z", System.Globalization.CultureInfo.InvariantCulture)), header);
    }

    [Theory]
    [InlineData("not json", "not valid JSON")]
    [InlineData("[1]", "not a JSON object")]
    [InlineData("{\"event_id\":\"e\",\"run_id\":\"r\",\"type\":\"t\",\"schema_version\":1,\"ts\":\"2026-11-23T10:00:00Z\"}", "seq is missing")]
    public void Header_of_a_broken_envelope_says_why(string json, string reason)
    {
        Assert.Null(EnvelopeHeader.TryRead(Encoding.UTF8.GetBytes(json), out var problem));
        Assert.Contains(reason, problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Impossible_calendar_date_is_rejected()
    {
        // format: date-time alone is judged differently by validators; the schema's pattern and ours reject it.
        using var doc = JsonDocument.Parse(Event.Replace("2026-11-23", "2026-02-30", StringComparison.Ordinal));
        var errors = new List<ValidationError>();

        Assert.Null(EnvelopeValidator.Validate(doc.RootElement, 0, errors));
        Assert.Contains(errors, e => e.Field == "ts");
    }

    [Fact]
    public void Stream_id_is_added_as_the_first_field()
    {
        Assert.Equal("{\"stream_id\":\"5-1\",\"event_id\":\"e\"}", CanonicalEnvelope.WithStreamId("{\"event_id\":\"e\"}", "5-1"));
    }

    [Fact]
    public void Typed_payloads_serialise_in_snake_case()
    {
        var envelope = Envelope.Create("r", 1, EventTypes.LlmResponse, DateTimeOffset.UnixEpoch,
            new LlmResponse(1, "p1", "m", 10, 2, 1.5));

        var json = JsonSerializer.Serialize(envelope, ArenaJson.Default.Envelope);
        using var doc = JsonDocument.Parse(json);

        Assert.NotNull(EnvelopeValidator.Validate(doc.RootElement, 0, []));
        Assert.Contains("\"prompt_tokens\":10", json);
        Assert.Contains("\"schema_version\":1", json);
    }
}
