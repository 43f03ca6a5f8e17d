using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Arena.Pipeline.Tests.Infrastructure;
using CsCheck;

namespace Arena.Pipeline.Tests.HostileInput;

/// <summary>A request to <c>POST /v1/events</c> that ingest must refuse, and the status the contract gives it.</summary>
internal sealed record HostileRequest(string Mutation, byte[] Body, string? ContentType, IReadOnlyList<(string Name, string Value)> Headers, bool Chunked, int Status)
{
    public override string ToString() =>
        $"[{Mutation}] expecting {Status}; Content-Type {ContentType ?? "(none)"}; {string.Join("; ", Headers.Select(h => $"{h.Name}: {Fuzz.Preview(h.Value)}"))}; "
        + $"{Body.Length} bytes{(Chunked ? " chunked" : "")}: {Fuzz.Preview(Encoding.UTF8.GetString(Body))}";
}

/// <summary>
/// Hostile requests built from valid ones (the <see cref="Events"/> builders and the valid
/// examples of <c>schemas/corpus.json</c>) by mutation: wrong types and values in each
/// envelope field, truncation, deep nesting, duplicate keys, invalid UTF-8, BOMs, NUL bytes,
/// broken NDJSON lines, oversize strings, bodies and counts, and wrong headers (API key,
/// Content-Type, charset, Content-Encoding). A request mixing valid and invalid events is
/// refused whole.
/// </summary>
internal static class HostileRequests
{
    /// <summary>Ingest's default limits, under which the tests run it.</summary>
    public const int MaxBodyBytes = 1024 * 1024, MaxEventBytes = 64 * 1024, MaxEvents = 1000;

    public const string ApiKey = "fuzz-key";

    private const string Json = "application/json", Ndjson = "application/x-ndjson";

    private static readonly string[] Seeds =
    [
        .. Corpus("valid").Select(e => e.GetProperty("event").GetRawText()),
        Events.TurnStart("fuzz-run", 1, "fuzz-run:1"),
        Events.TurnStart("fuzz-run", 2),
        Events.GameEnd("fuzz-run", ("model-a", 1), ("model-b", 2)),
    ];

    private static JsonElement[] Corpus(string kind) =>
        [.. JsonDocument.Parse(File.ReadAllText(Path.Combine(Repo.Root, "schemas", "corpus.json"))).RootElement.GetProperty(kind).EnumerateArray()];

    private static readonly JsonElement[] InvalidExamples = Corpus("invalid");

    public static readonly Gen<JsonObject> ValidEvent = Gen.Int[0, Seeds.Length - 1].Select(i => JsonNode.Parse(Seeds[i])!.AsObject());

    private static Gen<JsonNode?> Value(params JsonNode?[] values) => Gen.Int[0, values.Length - 1].Select(i => values[i]?.DeepClone());

    private static Gen<JsonNode?> Text(Gen<string> text) => text.Select(s => (JsonNode?)JsonValue.Create(s));

    private static Gen<JsonNode?> Number(string literal) => Gen.Const(() => JsonNode.Parse(literal));

    private static readonly char[] BadIdChars = [' ', '/', '#', '?', '%', '+', ',', '@', '"', '\\', '{', '\n', '\t', '\0', '\u00e9', '\u2603', '\u200b', '\ufeff'];

    /// <summary>Ids that break <c>[A-Za-z0-9._:-]{1,128}</c>: too long, empty, or with a character outside it.</summary>
    private static readonly Gen<string> BadId = Gen.OneOf(
        Gen.Int[129, 5000].Select(n => new string('r', n)),
        Gen.Const(""),
        Gen.Select(Gen.Int[0, BadIdChars.Length - 1], Gen.Int[0, 5], (c, at) => "run-1".Insert(at, BadIdChars[c].ToString())));

    private static readonly Gen<JsonNode?> NotAString = Value(7, 1.5, true, new JsonObject { ["a"] = 1 }, new JsonArray(1, 2));

    private static readonly Gen<string> BadTimestamp = Gen.OneOf(
        "2026-11-23T10:00:00.123", "2026-11-23 10:00:00Z", "2026-11-23", "10:00:00Z", "2026-13-01T00:00:00Z", "2026-02-30T00:00:00Z",
        "2026-11-23T25:00:00Z", "2026-11-23T10:60:00Z", "2026-11-23T10:00:00.Z", "2026-11-23T10:00:00+24:00", "0000-00-00T00:00:00Z",
        "now", "", " ", "1732356000", "2026-11-23T10:00:00Z\n", "２０２６-11-23T10:00:00Z", "2026-11-23T10:00:00ZZ");

    /// <summary>A field of the envelope and a value the contract refuses there, or the field removed when it is required.</summary>
    private static readonly Gen<(string Field, JsonNode? Value, bool Remove)> BadField = Gen.OneOf(
        Gen.OneOf(Text(BadId), NotAString, Value((JsonNode?)null)).Select(v => ("run_id", v, false)),
        Gen.OneOf(Text(BadId), NotAString).Select(v => ("event_id", v, false)),
        Gen.OneOf(
            Gen.Long[long.MinValue, -1].Select(n => (JsonNode?)n), Gen.Double[-1e9, 1e9].Where(d => d != Math.Floor(d)).Select(d => (JsonNode?)d),
            Number("1e30"), Number("99999999999999999999"), Number("1.0"), Number("1e2"), Text(Gen.Const("7")), Value(true, null, new JsonArray())).Select(v => ("seq", v, false)),
        Gen.OneOf(
            Value(0, -1, "1", 1.5, true, null), Gen.Long[(long)int.MaxValue + 1, long.MaxValue].Select(n => (JsonNode?)n),
            Gen.Long[long.MinValue, 0].Select(n => (JsonNode?)n), Number("1e40")).Select(v => ("schema_version", v, false)),
        Gen.OneOf(Text(BadTimestamp), Value(1732356000, null, true)).Select(v => ("ts", v, false)),
        Gen.OneOf(Text(Gen.OneOf("", "Turn_Start", "turn-start", "1turn", "turn start", new string('t', 65), "tür")), Value(42, null)).Select(v => ("type", v, false)),
        Value("payload", new JsonArray(), 3, null).Select(v => ("payload", v, false)),
        Gen.OneOf("run_id", "seq", "type", "schema_version", "ts", "payload").Select(f => (f, (JsonNode?)null, true)));

    private static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);

    private static string Write(JsonNode node) => node.ToJsonString();

    /// <summary>Events as the body of one content type: a single envelope, a JSON array, or NDJSON lines.</summary>
    private static (byte[] Body, string ContentType) Frame(IReadOnlyList<string> events, int format) => format switch
    {
        0 when events.Count == 1 => (Utf8(events[0]), Json),
        0 or 1 => (Utf8(Events.Array(events)), Json),
        _ => (Utf8(string.Join("\n", events) + "\n"), Ndjson),
    };

    private static HostileRequest Request(string mutation, (byte[] Body, string ContentType) framed, int status) =>
        new(mutation, framed.Body, framed.ContentType, [], false, status);

    private static readonly Gen<List<string>> ValidEvents = ValidEvent.Select(e => Write(e)).List[1, 5];

    /// <summary>One event with a bad field among valid ones: the whole request is refused.</summary>
    private static readonly Gen<HostileRequest> InvalidEnvelope =
        Gen.Select(ValidEvents, ValidEvent, BadField, Gen.Int[0, 2], Gen.Int[0, 100]).Select((valid, evt, bad, format, at) =>
        {
            if (bad.Remove)
            {
                evt.Remove(bad.Field);
            }
            else
            {
                evt[bad.Field] = bad.Value;
            }
            var events = new List<string>(valid);
            events.Insert(at % (events.Count + 1), Write(evt));
            return Request($"{bad.Field} {(bad.Remove ? "removed" : "set to " + Fuzz.Preview(bad.Value?.ToJsonString() ?? "null"))}", Frame(events, format), 400);
        });

    /// <summary>The corpus's invalid examples, each among valid events.</summary>
    private static readonly Gen<HostileRequest> CorpusInvalid =
        Gen.Select(ValidEvents, Gen.Int[0, InvalidExamples.Length - 1], Gen.Int[0, 2]).Select((valid, i, format) =>
        {
            var example = InvalidExamples[i];
            var events = new List<string>(valid) { example.GetProperty("event").GetRawText() };
            return Request($"corpus: {example.GetProperty("name").GetString()}", Frame(events, format), 400);
        });

    private static readonly byte[][] InvalidUtf8 =
    [
        [0xFF], [0xFE], [0x80], [0xC0, 0xAF], [0xE0, 0x80, 0xAF], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xE2, 0x82], [0xF8, 0x88, 0x80, 0x80, 0x80],
    ];

    private static byte[] Insert(byte[] body, int at, byte[] bytes) => [.. body[..at], .. bytes, .. body[at..]];

    /// <summary>Byte-level damage to a valid JSON body (a single envelope or an array), each of which leaves no valid JSON.</summary>
    private static readonly Gen<HostileRequest> BrokenJson =
        Gen.Select(ValidEvents, Gen.Int[0, 1], Gen.Int[0, 8], Gen.Int[0, int.MaxValue], Gen.Int[65, 10_000]).Select((events, format, kind, n, depth) =>
        {
            var (body, contentType) = Frame(events, format);
            var at = n % body.Length;
            var (mutation, broken) = kind switch
            {
                0 => ("truncated", body[..at]),
                1 => ($"nested {depth} deep", Utf8(new string('[', depth) + Encoding.UTF8.GetString(body) + new string(']', depth))),
                2 => ($"a field nested {depth} deep", Utf8(Write(JsonNode.Parse(events[0])!.AsObject().Also(e => e["deep"] = "@deep")).Replace("\"@deep\"",
                    string.Concat(Enumerable.Repeat("{\"a\":", depth)) + "1" + new string('}', depth), StringComparison.Ordinal))),
                3 => ("duplicate key", DuplicateKey(events[0], n)),
                4 => ("invalid UTF-8", Insert(body, at, InvalidUtf8[n % InvalidUtf8.Length])),
                5 => ("NUL byte", Insert(body, at, [0])),
                6 => ("byte order mark", Insert(body, 0, [0xEF, 0xBB, 0xBF])),
                7 => ("unpaired surrogate escape", Utf8(Write(JsonNode.Parse(events[0])!.AsObject().Also(e => e["note"] = "@note")).Replace("\"@note\"",
                    n % 2 == 0 ? "\"a\\ud800b\"" : "\"\\udfff\"", StringComparison.Ordinal))),
                _ => ("NDJSON sent as JSON", Frame([.. events, events[0]], 2).Body),
            };
            return new HostileRequest(mutation, broken, contentType, [], false, 400);
        });

    /// <summary>An envelope with one of its properties written twice, first with a value of its own.</summary>
    private static byte[] DuplicateKey(string evt, int n)
    {
        var properties = JsonNode.Parse(evt)!.AsObject().Select(p => p.Key).ToList();
        var name = properties[n % properties.Count];
        var value = n % 2 == 0 ? JsonNode.Parse(evt)![name]?.ToJsonString() ?? "null" : "\"other\"";
        return Utf8($"{{\"{name}\":{value}," + evt[1..]);
    }

    private static readonly Gen<string> BrokenLine = Gen.OneOf(
        Gen.OneOf("{broken", "}", "[", "{\"run_id\":", "not json at all", "{\"a\":1}{\"b\":2}", "\"text\"", "nul\u0001l"),
        ValidEvent.Select(e => Write(e)).Select(Gen.Int[1, 50], (e, cut) => e[..Math.Max(1, e.Length - cut)]));

    /// <summary>NDJSON whose valid lines surround a broken one, with empty and whitespace lines around it.</summary>
    private static readonly Gen<HostileRequest> BrokenNdjson =
        Gen.Select(ValidEvents, BrokenLine, Gen.Int[0, 100], Gen.Bool).Select((events, broken, at, blanks) =>
        {
            var lines = new List<string>(events);
            lines.Insert(at % (lines.Count + 1), broken);
            if (blanks)
            {
                lines.Insert(at % (lines.Count + 1), "   \t ");
                lines.Insert(lines.Count / 2, "");
            }
            return new HostileRequest("broken NDJSON line", Utf8(string.Join("\n", lines)), Ndjson, [], false, 400);
        });

    /// <summary>A JSON array sent as NDJSON: its one line is an array, not an event.</summary>
    private static readonly Gen<HostileRequest> ArrayAsNdjson =
        ValidEvents.Select(events => new HostileRequest("array sent as NDJSON", Utf8(Events.Array(events)), Ndjson, [], false, 400));

    private static string Padded(JsonObject evt, int bytes) => Write(evt.Also(e => e["pad"] = new string('x', bytes)));

    /// <summary>Over a limit: an event over 64 KiB, a body over 1 MiB (announced or chunked), more than 1000 events.</summary>
    private static readonly Gen<HostileRequest> Oversize = Gen.OneOf(
        Gen.Select(ValidEvents, ValidEvent, Gen.Int[MaxEventBytes + 1, 2 * MaxEventBytes], Gen.Int[0, 2]).Select((valid, evt, pad, format) =>
            Request($"an event with a {pad}-byte string", Frame([.. valid, Padded(evt, pad)], format), 413)),
        Gen.Select(ValidEvent, Gen.Int[17, 24], Gen.Int[0, 2], Gen.Bool).Select((evt, count, format, chunked) =>
            Request("a body over 1 MiB", Frame([.. Enumerable.Repeat(Padded(evt, MaxEventBytes - 2000), count)], Math.Max(1, format)), 413) with { Chunked = chunked }),
        Gen.Select(Gen.Int[MaxEvents + 1, MaxEvents + 200], Gen.Int[1, 2]).Select((count, format) =>
            Request($"{count} events", Frame([.. Enumerable.Range(1, count).Select(seq => Events.TurnStart("fuzz-many", seq))], format), 413)));

    /// <summary>A valid JSON body and a Content-Length short of it: the server reads only that much, a truncated JSON text.</summary>
    public static readonly Gen<(byte[] Body, int ContentLength)> BodyBeyondContentLength =
        Gen.Select(ValidEvents, Gen.Int[0, 1], Gen.Int[0, int.MaxValue]).Select((events, format, n) =>
        {
            var body = Frame(events, format).Body;
            return (body, n % body.Length);
        });

    public static readonly Gen<HostileRequest> Body = Gen.Frequency(
        (6, InvalidEnvelope), (2, CorpusInvalid), (4, BrokenJson), (2, BrokenNdjson), (1, ArrayAsNdjson), (2, Oversize));

    private static readonly Gen<(string Name, string Value)[]> GoodKey = Gen.OneOf<(string, string)[]>(
        [("X-Api-Key", ApiKey)], [("Authorization", "Bearer " + ApiKey)], [("Authorization", "bearer " + ApiKey)]);

    private static readonly Gen<(string Name, string Value)[]> BadKey = Gen.OneOf(
        Gen.OneOf<(string, string)[]>(
            [], [("X-Api-Key", "")], [("X-Api-Key", "wrong")], [("X-Api-Key", ApiKey + "x")], [("X-Api-Key", ApiKey[..^1])], [("X-Api-Key", ApiKey.ToUpperInvariant())],
            [("Authorization", "Bearer")], [("Authorization", "Bearer ")], [("Authorization", "Basic " + ApiKey)], [("Authorization", ApiKey)],
            [("Authorization", "Bearer wrong"), ("X-Api-Key", ApiKey)], [("X-Api-Key", "wrong"), ("X-Api-Key", ApiKey)]),
        Gen.String[Gen.Char['!', '~'], 1, 4000].Where(k => k != ApiKey && k.Trim() == k).Select(k => new[] { ("X-Api-Key", k) }));

    private static readonly Gen<string> GoodCharset = Gen.OneOf("", "; charset=utf-8", "; charset=UTF-8", ";charset=utf-8", "; profile=x");

    private static readonly Gen<string?> BadContentType = Gen.OneOf<string?>(
        null, "text/plain", "application/xml", "application/json; charset=latin1", "application/json; charset=utf-16", "application/x-ndjson; charset=iso-8859-1",
        "application/json; charset=", "application/", "json", "*/*", "application/json-patch+json", "multipart/form-data; boundary=x", "text/json", "application/ndjson");

    private static readonly Gen<string> BadEncoding = Gen.OneOf("gzip", "deflate", "br", "zstd", "gzip, identity", "x-unknown", "GZIP");

    private static readonly Gen<(string Name, string Value)[]> GoodEncoding = Gen.OneOf<(string, string)[]>([], [], [], [("Content-Encoding", "identity")]);

    /// <summary>
    /// A hostile body sent with headers that are right, or wrong in one way; the status follows
    /// ingest's order of checks: the key (401), then the media type and encoding (415), then size (413).
    /// </summary>
    public static readonly Gen<HostileRequest> Any =
        Gen.Select(Body, Gen.Int[0, 9], GoodKey, BadKey, GoodCharset, BadContentType, GoodEncoding, BadEncoding).Select(
            (request, header, goodKey, badKey, charset, badType, goodEncoding, badEncoding) => header switch
            {
                0 => request with { Mutation = request.Mutation + ", bad API key", Headers = badKey, Status = 401 },
                1 => request with { Mutation = request.Mutation + ", bad Content-Type", ContentType = badType, Headers = goodKey, Status = 415 },
                2 => request with { Mutation = request.Mutation + ", Content-Encoding " + badEncoding, Headers = [.. goodKey, ("Content-Encoding", badEncoding)], Status = 415 },
                _ => request with
                {
                    ContentType = request.ContentType + charset,
                    Headers = [.. goodKey, .. goodEncoding],
                    Status = request.Body.Length > MaxBodyBytes ? 413 : request.Status,
                },
            });

    private static JsonObject Also(this JsonObject node, Action<JsonObject> change)
    {
        change(node);
        return node;
    }
}
