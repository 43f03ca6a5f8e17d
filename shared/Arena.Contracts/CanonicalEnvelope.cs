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
        EscapeInStrings(spliced ? raw[1..] : raw, written.AsSpan(at));
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
        // Nothing but printable ASCII without a space or a backslash: only what it escapes changes.
        if (json.IndexOfAny(NotPlainNorEscaped) < 0)
        {
            return EscapeInStrings(json, []);
        }
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

    /// <summary>
    /// How many of the characters the writer escapes are inside this JSON's strings, which hold
    /// no backslash (so every quote opens or closes one: a character is inside a string when an
    /// odd number of quotes precede it); with room in <paramref name="to"/>, the JSON is copied
    /// there with those escaped as the writer does, and the rest as it is.
    /// </summary>
    private static int EscapeInStrings(ReadOnlySpan<byte> json, Span<byte> to)
    {
        var copy = !to.IsEmpty;
        var (escapes, quotes) = (0, 0);
        while (true)
        {
            var next = json.IndexOfAny(EscapedBytes);
            if (next < 0)
            {
                if (copy)
                {
                    json.CopyTo(to);
                }
                return escapes;
            }
            var before = json[..next];
            quotes += before.Count((byte)'"');
            var b = json[next];
            var inString = (quotes & 1) == 1;
            escapes += inString ? 1 : 0;
            if (copy)
            {
                before.CopyTo(to);
                if (inString)
                {
                    "\\u00"u8.CopyTo(to[next..]);
                    to[next + 4] = (byte)"0123456789ABCDEF"[b >> 4];
                    to[next + 5] = (byte)"0123456789ABCDEF"[b & 0xF];
                    to = to[(next + 6)..];
                }
                else
                {
                    to[next] = b;
                    to = to[(next + 1)..];
                }
            }
            json = json[(next + 1)..];
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

    /// <summary>The bytes other than a quote that the writer does not keep as they are, and the space, which it keeps only inside a string.</summary>
    private static readonly SearchValues<byte> NotPlainNorEscaped = SearchValues.Create(
        Enumerable.Range(0, 256).Select(b => (byte)b).Where(b => b == ' ' || (b != '"' && Escaped(b) == Other)).ToArray());

    /// <summary>The bytes the writer escapes inside a string (<see cref="Escaped"/> says <c>Escape</c>).</summary>
    private static readonly SearchValues<byte> EscapedBytes = SearchValues.Create(
        Enumerable.Range(0, 256).Select(b => (byte)b).Where(b => Escaped(b) == Escape).ToArray());

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
