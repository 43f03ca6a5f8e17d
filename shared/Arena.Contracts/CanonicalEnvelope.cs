using System.Buffers;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Arena.Contracts.Validation;

namespace Arena.Contracts;

/// <summary>
/// The form in which an accepted envelope is stored and streamed: minified JSON with
/// <c>event_id</c> first and every other field, known or not, as the producer sent it.
/// </summary>
public static class CanonicalEnvelope
{
    /// <summary>The field the pipeline adds to every event it serves: producers may not send it, or an event would carry two.</summary>
    public const string StreamIdField = "stream_id";

    /// <summary>
    /// The field the pipeline adds beside <c>stream_id</c> when the event was published with an
    /// API key: the key's producer name. Producers may not send it, or a reader could take a
    /// name the producer chose for the one its key proves.
    /// </summary>
    public const string ProducerField = "producer";

    /// <summary>
    /// The canonical envelope of <paramref name="evt"/> with <paramref name="eventId"/>: the
    /// producer's bytes as they are when they already are that form (or lack only the assigned
    /// <c>event_id</c>, spliced in first), else <see cref="Rewrite"/>; the same bytes either way.
    /// </summary>
    public static byte[] Write(ValidatedEvent evt, string eventId)
    {
        var raw = JsonMarshal.GetRawUtf8Value(evt.Json);
        if (!IsWrittenAsIs(raw))
        {
            return Rewrite(evt, eventId);
        }
        if (evt.EventId is not null)
        {
            return evt.EventId == eventId && raw.StartsWith(EventIdFirst) ? raw.ToArray() : Rewrite(evt, eventId);
        }
        if (raw.IndexOf(EventIdName) >= 0 || !eventId.All(c => c < 0x80 && IsPlain((byte)c)))
        {
            return Rewrite(evt, eventId);
        }
        // {"event_id":"<id>", then the producer's fields after its '{' (or its '}' alone).
        return [.. EventIdFirst, (byte)'"', .. Encoding.ASCII.GetBytes(eventId), (byte)'"', .. raw.Length > 2 ? ","u8 : [], .. raw[1..]];
    }

    /// <summary>The canonical envelope written field by field through <see cref="Utf8JsonWriter"/>: what <see cref="Write"/> returns.</summary>
    public static byte[] Rewrite(ValidatedEvent evt, string eventId)
    {
        var buffer = new ArrayBufferWriter<byte>(evt.Json.ValueKind == JsonValueKind.Object ? 512 : 64);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("event_id", eventId);
            foreach (var property in evt.Json.EnumerateObject())
            {
                if (!property.NameEquals("event_id"))
                {
                    property.WriteTo(writer);
                }
            }
            writer.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    private static ReadOnlySpan<byte> EventIdFirst => "{\"event_id\":"u8;

    private static ReadOnlySpan<byte> EventIdName => "\"event_id\""u8;

    /// <summary>
    /// Whether <see cref="Utf8JsonWriter"/> would write this JSON back byte for byte: minified (no
    /// whitespace outside strings) and no string holding an escape or a character its default
    /// encoder escapes (anything outside printable ASCII, and <c>" \ &lt; &gt; &amp; ' + `</c>).
    /// Without a backslash every quote opens or closes a string.
    /// </summary>
    private static bool IsWrittenAsIs(ReadOnlySpan<byte> json)
    {
        var inString = false;
        foreach (var b in json)
        {
            if (b == (byte)'"')
            {
                inString = !inString;
            }
            else if (inString ? !IsPlain(b) : b is (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\r')
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>A byte of a string that the writer's default encoder writes as it is.</summary>
    private static bool IsPlain(byte b) =>
        b is >= 0x20 and <= 0x7E and not ((byte)'"' or (byte)'\\' or (byte)'<' or (byte)'>' or (byte)'&' or (byte)'\'' or (byte)'+' or (byte)'`');

    /// <summary>
    /// The envelope with <c>stream_id</c> added as its first field, and <c>producer</c> (the
    /// name of the API key it was published with) after it when known, as the history API
    /// and the live stream return it.
    /// </summary>
    public static string WithStreamId(string envelopeJson, string streamId, string? producer = null) =>
        producer is null
            ? string.Concat("{\"" + StreamIdField + "\":\"", streamId, "\",", envelopeJson.AsSpan(1))
            : string.Concat("{\"" + StreamIdField + "\":\"" + streamId + "\",\"" + ProducerField + "\":\"" + JsonEncodedText.Encode(producer).Value + "\",", envelopeJson.AsSpan(1));
}
