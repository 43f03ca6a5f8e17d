using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace Arena.Contracts.Validation;

/// <summary>An event that passed validation: its parsed envelope fields and its JSON as the producer sent it.</summary>
public abstract class ValidatedEvent
{
    private protected ValidatedEvent(string? eventId, string runId, long seq, string type, int schemaVersion, DateTimeOffset ts)
    {
        EventId = eventId;
        RunId = runId;
        Seq = seq;
        Type = type;
        SchemaVersion = schemaVersion;
        Ts = ts;
    }

    public string? EventId { get; }
    public string RunId { get; }
    public long Seq { get; }
    public string Type { get; }
    public int SchemaVersion { get; }
    public DateTimeOffset Ts { get; }

    /// <summary>The event's JSON object, byte for byte as it arrived.</summary>
    public abstract ReadOnlySpan<byte> Utf8Json { get; }

    /// <summary>The event's JSON as an element, parsed from its bytes when it was validated from them; dispose the document when given one.</summary>
    internal abstract JsonElement Element(out JsonDocument? parsed);
}

/// <summary>An event validated from a parsed document (<see cref="EnvelopeValidator"/>).</summary>
internal sealed class ParsedEvent(string? eventId, string runId, long seq, string type, int schemaVersion, DateTimeOffset ts, JsonElement json)
    : ValidatedEvent(eventId, runId, seq, type, schemaVersion, ts)
{
    public override ReadOnlySpan<byte> Utf8Json => JsonMarshal.GetRawUtf8Value(json);

    internal override JsonElement Element(out JsonDocument? parsed)
    {
        parsed = null;
        return json;
    }
}

/// <summary>An event validated from its bytes (<see cref="Utf8EnvelopeValidator"/>): one object fewer to allocate than a document.</summary>
internal sealed class ReadEvent(string? eventId, string runId, long seq, string type, int schemaVersion, DateTimeOffset ts, ReadOnlyMemory<byte> utf8Json)
    : ValidatedEvent(eventId, runId, seq, type, schemaVersion, ts)
{
    public override ReadOnlySpan<byte> Utf8Json => utf8Json.Span;

    internal override JsonElement Element(out JsonDocument? parsed)
    {
        parsed = JsonDocument.Parse(utf8Json);
        return parsed.RootElement;
    }
}

/// <summary>
/// Field-level validation of an envelope and, for the v1 types, of its payload. Unknown
/// types and newer schema versions are accepted on their envelope alone; unknown extra
/// fields are kept. The JSON Schema files in <c>schemas/</c> state the same rules.
/// </summary>
public static class EnvelopeValidator
{
    /// <param name="sameRunAs">The run id of the request's previous valid event: a run id equal to it is that string, not a copy.</param>
    public static ValidatedEvent? Validate(JsonElement json, int index, List<ValidationError> errors, string? sameRunAs = null)
    {
        if (json.ValueKind != JsonValueKind.Object)
        {
            errors.Add(new ValidationError(index, "", $"an event must be a JSON object, not {FieldReader.Describe(json)}"));
            return null;
        }
        if (UnpairedSurrogates.Find(json) is { } notUnicode)
        {
            errors.Add(new ValidationError(index, notUnicode, UnpairedSurrogates.Message));
            return null;
        }

        var before = errors.Count;
        var fields = new FieldReader(json, "", index, errors);
        var eventId = Id(fields, "event_id", required: false);
        var runId = sameRunAs is not null && fields.TryGet("run_id", out var run) && run.ValueKind == JsonValueKind.String && run.ValueEquals(sameRunAs)
            ? sameRunAs
            : Id(fields, "run_id", required: true);
        if (runId == PipelineRun.Id)
        {
            fields.Fail("run_id", $"\"{PipelineRun.Id}\" is reserved for the pipeline's own events");
            runId = null;
        }
        var seq = fields.Integer("seq", required: true, minimum: 0);
        var type = fields.String("type", required: true, EventTypes.Known);
        if (type is not null && !EnvelopeRules.Type().IsMatch(type))
        {
            fields.Fail("type", $"must be lower_snake_case matching {EnvelopeRules.TypePattern}");
            type = null;
        }
        else if (type is not null && EventTypes.EmittedByPipeline.Contains(type))
        {
            fields.Fail("type", $"\"{type}\" is reserved for events the pipeline emits itself");
            type = null;
        }
        if (fields.TryGet(CanonicalEnvelope.StreamIdField, out _))
        {
            fields.Fail(CanonicalEnvelope.StreamIdField, "is added by the pipeline to every event it serves (history and live stream); an event must not carry it");
        }
        if (fields.TryGet(CanonicalEnvelope.ProducerField, out _))
        {
            fields.Fail(CanonicalEnvelope.ProducerField, "is added by the pipeline to the events it serves (the producer name of the API key they were published with); an event must not carry it");
        }
        var version = fields.Integer("schema_version", required: true, minimum: 1);
        if (version > int.MaxValue)
        {
            fields.Fail("schema_version", $"must be at most {int.MaxValue}");
        }
        var ts = Timestamp(fields);

        JsonElement payload = default;
        var hasPayload = fields.TryGet("payload", out payload);
        if (!hasPayload)
        {
            fields.Fail("payload", "is required");
        }
        else if (payload.ValueKind != JsonValueKind.Object)
        {
            fields.Fail("payload", $"must be a JSON object, not {FieldReader.Describe(payload)}");
            hasPayload = false;
        }

        if (hasPayload && type is not null && version is <= EventTypes.CurrentSchemaVersion)
        {
            PayloadRules.Validate(type, fields.Nested(payload, "payload"));
        }

        return errors.Count == before
            ? new ParsedEvent(eventId, runId!, seq!.Value, type!, (int)version!.Value, ts!.Value, json)
            : null;
    }

    private static string? Id(FieldReader fields, string name, bool required)
    {
        var id = fields.String(name, required);
        if (id is not null && !EnvelopeRules.Id().IsMatch(id))
        {
            fields.Fail(name, "must be 1 to 128 characters of A-Z a-z 0-9 . _ : -");
            return null;
        }
        return id;
    }

    private static DateTimeOffset? Timestamp(FieldReader fields)
    {
        // Most timestamps are short ASCII without escapes: read from their bytes, without a string.
        if (fields.TryGetPlain("ts", out var raw) && raw.Length is > 0 and <= 64 && Ascii.IsValid(raw))
        {
            Span<char> chars = stackalloc char[raw.Length];
            Ascii.ToUtf16(raw, chars, out _);
            if (Rfc3339.TryParse(chars, out var parsed, out _))
            {
                return parsed;
            }
        }
        var text = fields.String("ts", required: true);
        if (text is null)
        {
            return null;
        }
        if (!Rfc3339.TryParse(text, out var ts, out var problem))
        {
            fields.Fail("ts", $"{problem} (got \"{Truncate(text)}\")");
            return null;
        }
        return ts;
    }

    private static string Truncate(string text) => text.Length <= 40 ? text : text[..40] + "…";
}
