using System.Buffers;
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
    /// The canonical envelope of <paramref name="evt"/> with <paramref name="eventId"/>, the
    /// same bytes as <see cref="Rewrite"/>: when the producer's are minified, hold no escape and
    /// no character beyond printable ASCII, they are copied in one pass, the characters the
    /// writer escapes (<c>&lt; &gt; &amp; ' + `</c>) escaped as it does and an assigned
    /// <c>event_id</c> spliced in first; any other event is rewritten.
    /// </summary>
    public static byte[] Write(ValidatedEvent evt, string eventId)
    {
        var raw = evt.Utf8Json;
        var escapes = Escapes(raw);
        var spliced = evt.EventId is null;
        if (escapes < 0
            || (spliced ? raw.IndexOf(EventIdName) >= 0 || !IsPlain(eventId)
                : evt.EventId != eventId || !raw.StartsWith(EventIdFirst)))
        {
            return Rewrite(evt, eventId);
        }

        // {"event_id":"<id>", then the producer's fields after its '{' (or its '}' alone).
        var prefix = spliced ? EventIdFirst.Length + eventId.Length + (raw.Length > 2 ? 3 : 2) : 0;
        var written = new byte[prefix + raw.Length - (spliced ? 1 : 0) + escapes * 5];
        var at = 0;
        if (spliced)
        {
            EventIdFirst.CopyTo(written);
            at = EventIdFirst.Length;
            written[at++] = (byte)'"';
            at += Encoding.ASCII.GetBytes(eventId, written.AsSpan(at));
            written[at++] = (byte)'"';
            if (raw.Length > 2)
            {
                written[at++] = (byte)',';
            }
        }
        var rest = spliced ? raw[1..] : raw;
        if (escapes == 0)
        {
            rest.CopyTo(written.AsSpan(at));
            return written;
        }
        var inString = false;
        foreach (var b in rest)
        {
            inString ^= b == (byte)'"';
            if (inString && Escaped(b) == Escape)
            {
                "\\u00"u8.CopyTo(written.AsSpan(at));
                written[at + 4] = (byte)"0123456789ABCDEF"[b >> 4];
                written[at + 5] = (byte)"0123456789ABCDEF"[b & 0xF];
                at += 6;
            }
            else
            {
                written[at++] = b;
            }
        }
        return written;
    }

    /// <summary>The canonical envelope written field by field through <see cref="Utf8JsonWriter"/>: what <see cref="Write"/> returns.</summary>
    public static byte[] Rewrite(ValidatedEvent evt, string eventId)
    {
        var json = evt.Element(out var parsed);
        using var document = parsed;
        var buffer = new ArrayBufferWriter<byte>(json.ValueKind == JsonValueKind.Object ? 512 : 64);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("event_id", eventId);
            foreach (var property in json.EnumerateObject())
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

    private const int Plain = 0, Escape = 1, Other = 2;

    /// <summary>
    /// How many characters of this JSON's strings the writer escapes, when that is all it would
    /// change; -1 when it would change more: whitespace outside strings, an escape (a backslash),
    /// a control character or anything beyond ASCII (which it escapes too, but from the decoded
    /// text). Without a backslash every quote opens or closes a string.
    /// </summary>
    private static int Escapes(ReadOnlySpan<byte> json)
    {
        var escapes = 0;
        while (true)
        {
            // Outside a string: on to its opening quote, through nothing but minified JSON.
            var open = json.IndexOfAny(OutsideStrings);
            if (open < 0)
            {
                return escapes;
            }
            if (json[open] != (byte)'"')
            {
                return -1;
            }
            json = json[(open + 1)..];
            // Inside it: on to its closing quote, counting what the writer escapes.
            while (true)
            {
                var next = json.IndexOfAny(InsideStrings);
                if (next < 0)
                {
                    return escapes;
                }
                var b = json[next];
                json = json[(next + 1)..];
                if (b == (byte)'"')
                {
                    break;
                }
                if (Escaped(b) != Escape)
                {
                    return -1;
                }
                escapes++;
            }
        }
    }

    /// <summary>Whether the writer writes every character of <paramref name="text"/> as it is.</summary>
    private static bool IsPlain(string text)
    {
        foreach (var c in text)
        {
            if (c >= 0x80 || Escaped((byte)c) != Plain)
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>The bytes <see cref="Escapes"/> stops at outside a string: a quote, or whitespace.</summary>
    private static readonly SearchValues<byte> OutsideStrings = SearchValues.Create("\" \t\n\r"u8);

    /// <summary>The bytes <see cref="Escapes"/> stops at inside a string: every one that <see cref="Escaped"/> does not keep.</summary>
    private static readonly SearchValues<byte> InsideStrings = SearchValues.Create(
        Enumerable.Range(0, 256).Select(b => (byte)b).Where(b => Escaped(b) != Plain).ToArray());

    /// <summary>What the writer's default encoder does with a byte of a string: keeps it, escapes it as <c>\u00XX</c>, or other.</summary>
    private static int Escaped(byte b) => b switch
    {
        (byte)'<' or (byte)'>' or (byte)'&' or (byte)'\'' or (byte)'+' or (byte)'`' => Escape,
        (byte)'"' or (byte)'\\' or < 0x20 or > 0x7E => Other,
        _ => Plain,
    };

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
