using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Arena.Contracts.Tests.Generated;
using Arena.Contracts.Validation;
using CsCheck;
using Xunit.Abstractions;

namespace Arena.Contracts.Tests;

/// <summary>
/// The one-pass validator over an event's bytes may give up on any event, but an event it
/// accepts, the full validator (after a parse without duplicate names, at most 64 deep) accepts
/// too, with the same fields and the same stored bytes. Judged on generated events, valid and
/// broken, each read as generated, with its non-ASCII text unescaped, and with one more change
/// the generator does not make: duplicate names, deep nesting, surrogate and other escapes,
/// whitespace, another field order, nulls, numbers at the edges, broken syntax.
/// </summary>
public sealed class OnePassValidationTests(ITestOutputHelper output)
{
    private const ulong Seed = 20261202;
    private const int Cases = 6000;

    private static readonly JsonDocumentOptions ParseOptions = new() { MaxDepth = 64, AllowDuplicateProperties = false };
    private static readonly JsonReaderOptions ReaderOptions = new() { MaxDepth = 64 };
    private static readonly JsonSerializerOptions Unescaped = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    [Fact]
    public void What_the_one_pass_validator_accepts_the_full_validator_accepts_alike()
    {
        var random = new PCG(1, Seed);
        var generator = new EventCaseGen();
        var wrong = new List<string>();
        int fullAccepts = 0, bothAccept = 0, plainFullAccepts = 0, plainBothAccept = 0;
        for (var i = 0; i < Cases; i++)
        {
            var c = new Choices(random);
            var generated = generator.Generate(random, null, out _);
            var plain = Unescape(generated.Json);
            var changed = Change(c, c.OneIn(2) ? plain : generated.Json, out var change);
            foreach (var (what, json) in new[] { ("as generated", generated.Json), ("unescaped", plain), (change, changed) })
            {
                var utf8 = Encoding.UTF8.GetBytes(json);
                if (change == "invalid UTF-8" && json == changed)
                {
                    utf8[utf8.Length / 2] = 0xFF;
                }
                // The previous event's run id, as ingest passes it, is a valid one.
                var sameRunAs = c.OneIn(2) && RunIdOf(json) is { } runId && EnvelopeRules.Id().IsMatch(runId) ? runId : c.Pick<string?>(null, "another-run");
                var verdict = Compare(utf8, sameRunAs, out var full, out var fast);
                fullAccepts += full ? 1 : 0;
                bothAccept += full && fast ? 1 : 0;
                if (what == "unescaped")
                {
                    plainFullAccepts += full ? 1 : 0;
                    plainBothAccept += full && fast ? 1 : 0;
                }
                if (verdict is not null)
                {
                    wrong.Add($"case {i + 1}, {what}: {verdict}\n    {generated}\n    {(json.Length <= 600 ? json : json[..600] + "…")}");
                }
            }
        }

        output.WriteLine($"{Cases * 3} events from seed {Seed}: the full validator accepted {fullAccepts}, the one-pass validator {bothAccept} of them; " +
            $"without escapes of non-ASCII text {plainBothAccept} of {plainFullAccepts}");
        Assert.True(wrong.Count == 0, $"{wrong.Count} events judged differently:\n{string.Join("\n", wrong.Take(20))}");
        // It must not get there by giving up: events without escapes are its to judge.
        Assert.True(plainBothAccept >= 0.99 * plainFullAccepts, $"the one-pass validator accepted only {plainBothAccept} of {plainFullAccepts} valid events without escapes");
    }

    [Theory]
    [InlineData("""{"type":"game_end","run_id":"r","seq":1,"schema_version":1,"ts":"2026-11-23T10:00:00Z","payload":{"results":[{"player_id":"a","model":"m","rank":1},{"player_id":"b","model":"m","rank":2}]}}""")]
    [InlineData("""{"payload":{"results":[{"player_id":"a","model":"m","rank":1},{"player_id":"b","model":"m","rank":2}]},"type":"game_end","run_id":"r","seq":1,"schema_version":1,"ts":"2026-11-23T10:00:00Z"}""")]
    [InlineData("""{"event_id":"e","run_id":"r","seq":0,"type":"turn_start","schema_version":1,"ts":"2026-11-23T10:00:00.123+01:00","payload":{"turn":0,"player_id":"p","x":{"y":[1,{"z":null}]}},"extra":"\n"}""")]
    [InlineData("""{"run_id":"r","seq":0,"type":"custom_kind","schema_version":7,"ts":"2026-11-23T10:00:00Z","stream_id":null,"payload":{}}""")]
    public void Plain_valid_events_are_accepted_in_one_pass(string json)
    {
        Assert.Null(Compare(Encoding.UTF8.GetBytes(json), null, out var full, out var fast));
        Assert.True(full && fast);
    }

    [Theory]
    [InlineData("""{"run_id":"r","seq":1,"type":"game_end","schema_version":1,"ts":"2026-11-23T10:00:00Z","payload":{"results":[{"player_id":"a","model":"m","rank":1},{"player_id":"b","model":"m","rank":3}]}}""")]
    [InlineData("""{"payload":{"results":[{"player_id":"a","model":"m","rank":1},{"player_id":"b","model":"m","rank":3}]},"run_id":"r","seq":1,"type":"game_end","schema_version":1,"ts":"2026-11-23T10:00:00Z"}""")]
    [InlineData("""{"run_id":"r","seq":1,"type":"turn_start","schema_version":1,"ts":"2026-11-23T10:00:00Z","payload":{"turn":1,"player_id":"p","o":{"a":1,"a":2}}}""")]
    [InlineData("""{"run_id":"r","seq":1,"type":"turn_start","schema_version":1,"ts":"2026-11-23T10:00:00Z","payload":{"turn":1,"player_id":"\ud800"}}""")]
    [InlineData("""{"run_id":"r","seq":1,"type":"turn_start","schema_version":1,"ts":"2026-02-30T10:00:00Z","payload":{"turn":1,"player_id":"p"}}""")]
    [InlineData("""{"run_id":"r","seq":1,"type":"turn_start","schema_version":1,"ts":"2026-11-23T10:00:00Z","producer":"me","payload":{"turn":1,"player_id":"p"}}""")]
    public void Invalid_events_are_left_to_the_full_validator(string json)
    {
        Assert.Null(Compare(Encoding.UTF8.GetBytes(json), null, out var full, out var fast));
        Assert.False(full || fast);
    }

    [Fact]
    public void Timestamps_read_from_their_bytes_as_from_their_text()
    {
        var random = new PCG(1, Seed);
        var c = new Choices(random);
        var texts = new List<string>([.. Timestamps.Edges, .. Timestamps.Malformed, .. Timestamps.OutOfRange]);
        for (var i = 0; i < Cases; i++)
        {
            var text = c.Int(0, 3) switch
            {
                0 => Timestamps.Valid(c),
                1 => Timestamps.LeapSecond(c),
                2 => Timestamps.MisplacedLeapSecond(c),
                _ => c.Pick([.. Timestamps.Edges, .. Timestamps.OutOfRange]),
            };
            texts.Add(text);
            // One character changed, removed or added, often to one the grammar has a place for.
            var at = c.Int(0, text.Length - 1);
            var other = c.Pick('0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '-', ':', '.', 'T', 't', 'Z', 'z', '+', ' ', 'x', 'é', '٣');
            texts.Add(c.Int(0, 2) switch
            {
                0 => text[..at] + other + text[(at + 1)..],
                1 => text.Remove(at, 1),
                _ => text.Insert(at, other.ToString()),
            });
        }

        var wrong = new List<string>();
        foreach (var text in texts)
        {
            var fromText = Rfc3339.TryParse(text, out var textInstant, out var textProblem);
            var fromBytes = Rfc3339.TryParse(Encoding.UTF8.GetBytes(text), out var byteInstant, out var byteProblem);
            if (fromText != fromBytes || textInstant != byteInstant || textInstant.Offset != byteInstant.Offset || textProblem != byteProblem)
            {
                wrong.Add($"\"{text}\": from text {fromText} {textInstant:o} {textProblem}; from bytes {fromBytes} {byteInstant:o} {byteProblem}");
            }
        }
        output.WriteLine($"{texts.Count} timestamps, {texts.Count(t => Rfc3339.TryParse(t, out _, out _))} of them valid");
        Assert.True(wrong.Count == 0, $"{wrong.Count} timestamps read differently:\n{string.Join("\n", wrong.Take(20))}");
    }

    /// <summary>Null when both validators agree; else what differs. Whether each accepted.</summary>
    private static string? Compare(byte[] utf8, string? sameRunAs, out bool fullAccepts, out bool fastAccepts)
    {
        // Both read only valid UTF-8, as ingest checks the whole body first.
        var fast = System.Text.Unicode.Utf8.IsValid(utf8) ? Utf8EnvelopeValidator.TryValidateText(utf8, ReaderOptions, sameRunAs) : null;
        fastAccepts = fast is not null;
        JsonDocument? document = null;
        try
        {
            var errors = new List<ValidationError>();
            try
            {
                document = System.Text.Unicode.Utf8.IsValid(utf8) ? JsonDocument.Parse(utf8, ParseOptions) : null;
            }
            catch (JsonException e)
            {
                errors.Add(new ValidationError(0, "", e.Message));
            }
            var full = document is null ? null : EnvelopeValidator.Validate(document.RootElement, 0, errors, sameRunAs);
            fullAccepts = full is not null;
            if (fast is null)
            {
                return null;
            }
            if (full is null)
            {
                return "accepted in one pass, refused by the full validator: " + string.Join("; ", errors.Select(e => $"{e.Field} {e.Message}"));
            }
            var differences = new List<string>();
            Expect("event_id", full.EventId, fast.EventId);
            Expect("run_id", full.RunId, fast.RunId);
            Expect("seq", full.Seq, fast.Seq);
            Expect("type", full.Type, fast.Type);
            Expect("schema_version", full.SchemaVersion, fast.SchemaVersion);
            Expect("ts", full.Ts.UtcTicks, fast.Ts.UtcTicks);
            Expect("ts offset", full.Ts.Offset, fast.Ts.Offset);
            Expect("the run id is the previous event's string", ReferenceEquals(full.RunId, sameRunAs), ReferenceEquals(fast.RunId, sameRunAs));
            Expect("the type is the known string", EventTypes.Known.Any(t => ReferenceEquals(t, full.Type)), EventTypes.Known.Any(t => ReferenceEquals(t, fast.Type)));
            Expect("bytes", Encoding.UTF8.GetString(full.Utf8Json), Encoding.UTF8.GetString(fast.Utf8Json));
            var eventId = full.EventId ?? "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b";
            Expect("stored", Encoding.UTF8.GetString(CanonicalEnvelope.Write(full, eventId)), Encoding.UTF8.GetString(CanonicalEnvelope.Write(fast, eventId)));
            Expect("rewritten", Encoding.UTF8.GetString(CanonicalEnvelope.Rewrite(full, eventId)), Encoding.UTF8.GetString(CanonicalEnvelope.Rewrite(fast, eventId)));
            return differences.Count == 0 ? null : string.Join("; ", differences);

            void Expect<T>(string what, T expected, T actual)
            {
                if (!EqualityComparer<T>.Default.Equals(expected, actual))
                {
                    differences.Add($"{what}: full {expected}, one pass {actual}");
                }
            }
        }
        finally
        {
            document?.Dispose();
        }
    }

    private static string? RunIdOf(string json)
    {
        try
        {
            return JsonNode.Parse(json) is JsonObject o && o["run_id"] is JsonValue v && v.TryGetValue<string>(out var id) ? id : null;
        }
        catch (Exception e) when (e is JsonException or ArgumentException or InvalidOperationException)
        {
            return null;
        }
    }

    /// <summary>The event with its non-ASCII text as UTF-8, not <c>\u</c> escapes (where it parses as a node at all).</summary>
    private static string Unescape(string json)
    {
        try
        {
            return JsonNode.Parse(json)!.ToJsonString(Unescaped);
        }
        catch (Exception e) when (e is JsonException or ArgumentException or InvalidOperationException)
        {
            return json;
        }
    }

    /// <summary>One more change of a kind the generator does not make, named in <paramref name="what"/>.</summary>
    private static string Change(Choices c, string json, out string what)
    {
        JsonObject root;
        try
        {
            root = JsonNode.Parse(json) as JsonObject ?? throw new JsonException("not an object");
            _ = root.Count;
        }
        catch (Exception e) when (e is JsonException or ArgumentException or InvalidOperationException)
        {
            what = "none (not an object)";
            return json;
        }
        var objects = new List<JsonObject>();
        Collect(root, objects);
        var target = c.OneIn(3) ? root : c.Pick([.. objects]);
        var names = target.Select(p => p.Key).ToArray();
        var name = names.Length > 0 ? c.Pick(names) : "x";
        const string Marker = "zz_marker_zz";
        switch (c.Int(0, 16))
        {
            case 0:
                what = $"a duplicate of {name}";
                target[Marker] = 1;
                return Text(root, c).Replace($"\"{Marker}\"", $"\"{name}\"", StringComparison.Ordinal);
            case 1:
                var depth = c.Int(50, 70);
                what = $"{depth} nested values";
                target[Marker] = 0;
                var nested = string.Concat(Enumerable.Range(0, depth).Select(i => i % 2 == 0 ? "[" : "{\"a\":")) + "1"
                    + string.Concat(Enumerable.Range(0, depth).Reverse().Select(i => i % 2 == 0 ? "]" : "}"));
                return Text(root, c).Replace($"\"{Marker}\":0", $"\"{Marker}\":{nested}", StringComparison.Ordinal);
            case 2:
                var surrogate = c.Pick("\\ud800", "\\uDFFF x", "\\ud83d\\ude00", "a\\ud83d", "\\ude00\\ud83d", "\\uD83D\\uDE00\\u00e9");
                what = $"{name} set to \"{surrogate}\"";
                target[name] = Marker;
                return Text(root, c).Replace($"\"{Marker}\"", $"\"{surrogate}\"", StringComparison.Ordinal);
            case 3:
                what = $"{name} with an escaped name";
                var moved = target[name]?.ToJsonString() ?? "null";
                target.Remove(name);
                target[Marker] = 1;
                return Text(root, c).Replace($"\"{Marker}\":1", $"\"{EscapeFirst(name)}\":{moved}", StringComparison.Ordinal);
            case 4:
                what = $"the text of {name} escaped";
                if (target[name] is JsonValue v && v.TryGetValue<string>(out var s) && s.Length > 0)
                {
                    target[name] = Marker;
                    return Text(root, c).Replace($"\"{Marker}\"", $"\"{EscapeFirst(s)}\"", StringComparison.Ordinal);
                }
                return Text(root, c);
            case 5:
                what = "indented";
                return root.ToJsonString(new JsonSerializerOptions { WriteIndented = true, Encoder = Unescaped.Encoder });
            case 6:
                what = "fields in another order";
                var fields = root.Select(p => (p.Key, Value: p.Value?.DeepClone())).ToList();
                root.Clear();
                foreach (var (key, node) in fields.OrderBy(_ => c.Int(0, 1000)))
                {
                    root[key] = node;
                }
                return Text(root, c);
            case 7:
                what = $"{name} null";
                target[name] = null;
                return Text(root, c);
            case 8:
                var number = c.Pick("1e400", "-0", "1.0", "9223372036854775808", "9223372036854775807", "-1", "0", "2147483647", "2147483648", "1E2", "0.5", "-0.0", "1e-400", "\"\"", "[]", "{}", "true", "\"x\"");
                what = $"{name} set to {number}";
                target[name] = Marker;
                return Text(root, c).Replace($"\"{Marker}\"", number, StringComparison.Ordinal);
            case 9:
                var field = c.Pick(CanonicalEnvelope.StreamIdField, CanonicalEnvelope.ProducerField);
                var value = c.Pick<JsonNode?>(null, "x", 1);
                what = $"{field} set to {value?.ToJsonString() ?? "null"}";
                root[field] = value;
                return Text(root, c);
            case 10:
                what = $"{name} removed";
                target.Remove(name);
                return Text(root, c);
            case 11:
                var type = c.Pick("turn_start", "game_end", "custom_kind", "stream_overflow", "leaderboard_updated", "Bad", "observation");
                what = $"type {type}";
                root["type"] = type;
                return Text(root, c);
            case 12:
                var version = c.Pick(0, 1, 2, int.MaxValue);
                what = $"schema_version {version}";
                root["schema_version"] = version;
                return Text(root, c);
            case 13:
                var text = Text(root, c);
                var edit = c.Int(0, 6);
                what = new[] { "trailing text", "trailing whitespace", "a byte order mark", "cut short", "in an array", "invalid UTF-8", "a second value" }[edit];
                return edit switch
                {
                    0 => text + "x",
                    1 => " \r\n\t" + text + " \n",
                    2 => "\uFEFF" + text,
                    3 => text[..c.Int(0, text.Length - 1)],
                    4 => "[" + text + "]",
                    5 => text,
                    _ => text + " {}",
                };
            case 14:
                what = $"{name} set to the run id";
                target[name] = RunIdOf(json) ?? "r";
                return Text(root, c);
            case 15:
                what = $"{name} set to a long text";
                target[name] = c.Pick(new string('m', 1024), new string('m', 1025), string.Concat(Enumerable.Repeat("é", 1024)), string.Concat(Enumerable.Repeat("é", 1025)),
                    new string('p', 128), new string('p', 129));
                return Text(root, c);
            default:
                var ts = c.Pick("2026-11-23T10:00:00Z", "2026-11-23t10:00:00.1234567+23:59", "2016-12-31T23:59:60Z", "2026-11-23T10:00:00", "0001-01-01T00:00:00+00:01",
                    "9999-12-31T23:59:59.9999999-00:01", "2024-02-29T00:00:00z", "2026-11-23 10:00:00Z", "2026-11-23T10:00:00.Z");
                what = $"ts {ts}";
                root["ts"] = ts;
                return Text(root, c);
        }
    }

    private static string Text(JsonObject root, Choices c) => root.ToJsonString(c.OneIn(2) ? Unescaped : JsonSerializerOptions.Default);

    /// <summary>The text as a JSON string's content with its first character written as <c>\u</c> escapes.</summary>
    private static string EscapeFirst(string text)
    {
        var first = text.Length > 1 && char.IsSurrogatePair(text[0], text[1]) ? 2 : Math.Min(1, text.Length);
        return string.Concat(text[..first].Select(u => string.Create(CultureInfo.InvariantCulture, $"\\u{(int)u:x4}")))
            + JsonEncodedText.Encode(text[first..], JavaScriptEncoder.UnsafeRelaxedJsonEscaping).Value;
    }

    private static void Collect(JsonNode? node, List<JsonObject> objects)
    {
        switch (node)
        {
            case JsonObject o:
                objects.Add(o);
                foreach (var (_, value) in o)
                {
                    Collect(value, objects);
                }
                break;
            case JsonArray a:
                foreach (var item in a)
                {
                    Collect(item, objects);
                }
                break;
        }
    }
}
