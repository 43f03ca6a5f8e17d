using System.Text;
using System.Text.Json;
using Arena.Contracts.Tests.Generated;
using Arena.Contracts.Validation;
using CsCheck;

namespace Arena.Contracts.Tests;

/// <summary>
/// Ingest stores the producer's bytes as they are when they already are the canonical form:
/// whatever the producer sent, the stored envelope must be the one the writer would write.
/// </summary>
public sealed class CanonicalEnvelopeTests
{
    private const ulong Seed = 20261202;

    private const string Minified = """{"event_id":"e-1","run_id":"r1","seq":3,"type":"turn_start","schema_version":1,"ts":"2026-11-23T10:00:00.123Z","payload":{"turn":1,"player_id":"p1","n":-1.5e3,"ok":true,"none":null,"xs":[{},[]]}}""";

    [Fact]
    public void Canonical_bytes_of_a_producer_are_stored_as_they_are()
    {
        using var doc = JsonDocument.Parse(Minified);
        var evt = EnvelopeValidator.Validate(doc.RootElement, 0, [])!;

        Assert.Equal(Minified, Encoding.UTF8.GetString(CanonicalEnvelope.Write(evt, "e-1")));
        Assert.Equal(CanonicalEnvelope.Rewrite(evt, "e-1"), CanonicalEnvelope.Write(evt, "e-1"));
    }

    [Fact]
    public void An_assigned_event_id_is_spliced_in_first()
    {
        var without = Minified.Replace("\"event_id\":\"e-1\",", "", StringComparison.Ordinal);
        using var doc = JsonDocument.Parse(without);
        var evt = EnvelopeValidator.Validate(doc.RootElement, 0, [])!;

        Assert.Equal("{\"event_id\":\"0190-a\"," + without[1..], Encoding.UTF8.GetString(CanonicalEnvelope.Write(evt, "0190-a")));
        Assert.Equal(CanonicalEnvelope.Rewrite(evt, "0190-a"), CanonicalEnvelope.Write(evt, "0190-a"));
    }

    /// <summary>Every printable ASCII character, escapes, non-ASCII text, whitespace and the event_id anywhere.</summary>
    [Theory]
    [MemberData(nameof(Strings))]
    public void Every_kind_of_string_is_stored_as_the_writer_writes_it(string text)
    {
        foreach (var json in Variants(text))
        {
            AssertSameAsRewrite(json);
        }
    }


    /// <summary>A <c>+</c> in a number is not in a string and stays; the same character in names and values, first, last or repeated, is escaped.</summary>
    [Theory]
    [InlineData("""{"event_id":"e-1","run_id":"r1","seq":3,"type":"turn_start","schema_version":1,"ts":"2026-11-23T10:00:00+01:00","payload":{"turn":1,"player_id":"p1","n":1e+5,"+":"+","m":-2E+3}}""")]
    [InlineData("""{"run_id":"r1","seq":3,"type":"turn_start","schema_version":1,"ts":"2026-11-23T10:00:00+01:00","payload":{"turn":1,"player_id":"p1","a<b>":"<&'`+>","xs":[1e+1,"++",2E+2],"z":"+"}}""")]
    [InlineData("""{"run_id":"r1","seq":3,"type":"turn_start","schema_version":1,"ts":"2026-11-23T10:00:00Z","payload":{"turn":1,"player_id":"p1","k":1.5e+300}}""")]
    public void Escaped_characters_are_escaped_in_strings_and_kept_in_numbers(string json) => AssertSameAsRewrite(json);
    public static TheoryData<string> Strings()
    {
        var data = new TheoryData<string>();
        for (var c = 0x20; c <= 0x7E; c++)
        {
            data.Add(c switch { '"' => "\\\"", '\\' => "\\\\", _ => ((char)c).ToString() });
        }
        foreach (var text in new[] { "\\u0041", "\\/", "\\n", "\\t", "\\u00e9", "é", "日本", "😀", "\\ud83d\\ude00", "a b", "<script>", "x+y", "`q`", "it's", "AT&T", "\\u007f", "\u007f" })
        {
            data.Add(text);
        }
        return data;
    }

    [Fact]
    public void Generated_valid_events_are_stored_as_the_writer_writes_them()
    {
        var random = new PCG(1, Seed);
        var generator = new EventCaseGen();
        var checkedEvents = 0;
        for (var i = 0; i < 3000; i++)
        {
            var generated = generator.Generate(random, null, out _);
            if (generated.Expected != Verdict.Valid)
            {
                continue;
            }
            using var doc = JsonDocument.Parse(generated.Json);
            var minified = JsonSerializer.Serialize(doc.RootElement);
            AssertSameAsRewrite(generated.Json);
            AssertSameAsRewrite(minified);
            checkedEvents++;
        }
        Assert.True(checkedEvents > 500, $"only {checkedEvents} valid events were generated");
    }

    private static IEnumerable<string> Variants(string text)
    {
        const string Body = "\"run_id\":\"r1\",\"seq\":3,\"type\":\"turn_start\",\"schema_version\":1,\"ts\":\"2026-11-23T10:00:00Z\",\"payload\":{\"turn\":1,\"player_id\":\"p1\",\"note\":\"NOTE\"}";
        var body = Body.Replace("NOTE", text, StringComparison.Ordinal);
        yield return "{" + body + "}";
        yield return "{\"event_id\":\"e-1\"," + body + "}";
        yield return "{" + body + ",\"event_id\":\"e-1\"}";
        yield return "{\"event_id\":\"e-1\", " + body + "}";
        yield return "{ \"event_id\":\"e-1\"," + body + "}\n";
        yield return "{\"event_id\":\"e-1\"," + body.Replace("\"note\":", "\"n" + text + "\":", StringComparison.Ordinal) + "}";
        yield return "{" + body.Replace("\"note\":\"", "\"note\":\"event_id ", StringComparison.Ordinal) + "}";
    }

    private static void AssertSameAsRewrite(string json)
    {
        using var doc = JsonDocument.Parse(json);
        var errors = new List<ValidationError>();
        var evt = EnvelopeValidator.Validate(doc.RootElement, 0, errors);
        Assert.True(evt is not null, $"{json}: {string.Join("; ", errors.Select(e => e.Message))}");
        var eventId = evt.EventId ?? "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b";
        var written = CanonicalEnvelope.Write(evt, eventId);
        var rewritten = CanonicalEnvelope.Rewrite(evt, eventId);
        Assert.True(written.AsSpan().SequenceEqual(rewritten), $"{json}\n  stored:    {Encoding.UTF8.GetString(written)}\n  rewritten: {Encoding.UTF8.GetString(rewritten)}");
    }
}
