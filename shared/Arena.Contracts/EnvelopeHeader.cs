using System.Text.Json;

namespace Arena.Contracts;

/// <summary>
/// The envelope fields of a stored event, read from its canonical JSON without materialising
/// the payload: what a consumer needs to route, store or order an event.
/// </summary>
public sealed record EnvelopeHeader(string EventId, string RunId, long Seq, string Type, int SchemaVersion, DateTimeOffset Ts)
{
    /// <summary>Reads the header, or returns null with a reason when the JSON is not an accepted envelope.</summary>
    public static EnvelopeHeader? TryRead(ReadOnlySpan<byte> json, out string? problem)
    {
        string? eventId = null, runId = null, type = null;
        long? seq = null;
        int? version = null;
        var tsRead = false;
        DateTimeOffset ts = default;
        try
        {
            var reader = new Utf8JsonReader(json);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                problem = "the envelope is not a JSON object";
                return null;
            }
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var name = reader.ValueSpan;
                reader.Read();
                if (name.SequenceEqual("event_id"u8)) eventId = StringOrNull(ref reader);
                else if (name.SequenceEqual("run_id"u8)) runId = StringOrNull(ref reader);
                else if (name.SequenceEqual("type"u8)) type = StringOrNull(ref reader);
                else if (name.SequenceEqual("ts"u8)) tsRead = TryReadInstant(ref reader, out ts);
                else if (name.SequenceEqual("seq"u8) && reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out var s)) seq = s;
                else if (name.SequenceEqual("schema_version"u8) && reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out var v)) version = v;
                else reader.Skip();
            }
        }
        catch (JsonException e)
        {
            problem = $"the envelope is not valid JSON: {e.Message}";
            return null;
        }

        problem = eventId is null ? "event_id is missing"
            : runId is null ? "run_id is missing"
            : type is null ? "type is missing"
            : seq is null ? "seq is missing"
            : version is null ? "schema_version is missing"
            : !tsRead ? "ts is missing or not RFC 3339"
            : null;
        return problem is null ? new EnvelopeHeader(eventId!, runId!, seq!.Value, type!, version!.Value, ts) : null;
    }

    /// <summary>An RFC 3339 string read where it lies, without a string or the regex.</summary>
    private static bool TryReadInstant(ref Utf8JsonReader reader, out DateTimeOffset instant)
    {
        if (reader.TokenType != JsonTokenType.String)
        {
            instant = default;
            reader.Skip();
            return false;
        }
        return Rfc3339.TryParse(ref reader, out instant);
    }

    private static string? StringOrNull(ref Utf8JsonReader reader)
    {
        if (reader.TokenType == JsonTokenType.String)
        {
            return reader.GetString();
        }
        reader.Skip();
        return null;
    }
}
