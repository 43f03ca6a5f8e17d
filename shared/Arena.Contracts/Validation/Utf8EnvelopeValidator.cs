using System.Text;
using System.Text.Json;

namespace Arena.Contracts.Validation;

/// <summary>
/// <see cref="EnvelopeValidator"/>'s rules in one pass over an event's UTF-8 bytes, for the events
/// that keep them: an event it accepts, the full validator accepts with the same fields, from a
/// JSON document parsed without duplicate property names. It judges nothing else: it gives up
/// (returns null) on every broken rule, duplicate name or syntax error, and on what it leaves to
/// the full validator although valid — escaped property names, surrogate escapes, escaped
/// envelope fields, objects with very many fields — so that the full validator accepts those or
/// reports exactly what is wrong.
/// </summary>
public static class Utf8EnvelopeValidator
{
    /// <summary>Property names of the objects open at one time that are checked for duplicates; beyond, it gives up.</summary>
    private const int MaxOpenNames = 256;

    /// <summary>Objects open at one time: the depth <see cref="JsonReaderOptions.MaxDepth"/> allows by default.</summary>
    private const int MaxOpenObjects = 64;

    /// <summary>The longest <c>ts</c> it reads, as sent; a longer one (many fraction digits) is left to the full validator.</summary>
    private const int MaxTimestampBytes = 128;

    /// <summary>
    /// The event at <paramref name="reader"/>'s current token, which must be a <c>{</c> of
    /// <paramref name="json"/> (the bytes the reader reads, valid UTF-8: the reader does not check
    /// the bytes of strings), read to its <c>}</c>; null when it gives up, with the reader anywhere.
    /// The reader's own limits (depth) are the document's.
    /// </summary>
    /// <param name="sameRunAs">The run id of the previous event of the request: a run id equal to it is that string, not a copy.</param>
    public static ValidatedEvent? TryValidate(ReadOnlyMemory<byte> json, ref Utf8JsonReader reader, string? sameRunAs = null)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            return null;
        }
        var start = (int)reader.TokenStartIndex;
        var scan = new Scan(json.Span, reader);
        try
        {
            var header = Envelope(ref scan, sameRunAs);
            reader = scan.Reader;
            if (header is not { } h)
            {
                return null;
            }
            if (h.Version <= EventTypes.CurrentSchemaVersion && !h.PayloadChecked && PayloadRules.For(h.Type) is { } rules
                && !PayloadFollows(json.Span[h.Payload], rules))
            {
                return null;
            }
            return new ReadEvent(h.EventId, h.RunId, h.Seq, h.Type, (int)h.Version, h.Ts, json[start..(int)reader.BytesConsumed]);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>One JSON text of valid UTF-8 that is one event (an NDJSON line), read with <paramref name="options"/>; null when it gives up.</summary>
    public static ValidatedEvent? TryValidateText(ReadOnlyMemory<byte> json, JsonReaderOptions options, string? sameRunAs = null)
    {
        var reader = new Utf8JsonReader(json.Span, options);
        try
        {
            return reader.Read() && TryValidate(json, ref reader, sameRunAs) is { } evt && !reader.Read() ? evt : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private readonly record struct Header(string? EventId, string RunId, long Seq, string Type, long Version, DateTimeOffset Ts, Range Payload, bool PayloadChecked);

    private static Header? Envelope(ref Scan s, string? sameRunAs)
    {
        string? eventId = null, runId = null, type = null;
        long seq = -1, version = 0;
        DateTimeOffset? ts = null;
        var payload = default(Range);
        bool hasPayload = false, payloadChecked = false;

        s.Open();
        while (s.Read() && s.Reader.TokenType != JsonTokenType.EndObject)
        {
            if (!s.Name(out var name))
            {
                return null;
            }
            s.Read();
            if (s.Reader.TokenType == JsonTokenType.Null)
            {
                // Null is absence: an optional field may be null, a required one is then missing.
                continue;
            }
            var ok = true;
            if (name.SequenceEqual("event_id"u8))
            {
                ok = Id(ref s, out eventId);
            }
            else if (name.SequenceEqual("run_id"u8))
            {
                ok = RunId(ref s, sameRunAs, out runId);
            }
            else if (name.SequenceEqual("seq"u8))
            {
                ok = Integer(ref s, 0, out seq);
            }
            else if (name.SequenceEqual("type"u8))
            {
                ok = Type(ref s, out type);
            }
            else if (name.SequenceEqual("schema_version"u8))
            {
                ok = Integer(ref s, 1, out version) && version <= int.MaxValue;
            }
            else if (name.SequenceEqual("ts"u8))
            {
                ok = Timestamp(ref s, out ts);
            }
            else if (name.SequenceEqual("payload"u8))
            {
                ok = hasPayload = Payload(ref s, version == 0 || version <= EventTypes.CurrentSchemaVersion ? type : null, out payload, out payloadChecked);
            }
            else if (name.SequenceEqual(StreamIdField) || name.SequenceEqual(ProducerField))
            {
                ok = false;
            }
            else
            {
                ok = s.Skip();
            }
            if (!ok)
            {
                return null;
            }
        }
        s.Close();
        return runId is not null && seq >= 0 && type is not null && version >= 1 && ts is { } instant && hasPayload
            ? new Header(eventId, runId, seq, type, version, instant, payload, payloadChecked)
            : null;
    }

    private static ReadOnlySpan<byte> StreamIdField => "stream_id"u8;

    private static ReadOnlySpan<byte> ProducerField => "producer"u8;

    /// <summary>
    /// The payload object, checked by the rules of <paramref name="type"/> when that is known (a
    /// rule that then turns out not to apply, under a newer schema version sent after the payload,
    /// only made it give up).
    /// </summary>
    private static bool Payload(ref Scan s, string? type, out Range payload, out bool isChecked)
    {
        payload = default;
        isChecked = type is not null;
        if (s.Reader.TokenType != JsonTokenType.StartObject)
        {
            return false;
        }
        if (type is null)
        {
            var start = (int)s.Reader.TokenStartIndex;
            var skipped = s.Skip();
            payload = start..(int)s.Reader.BytesConsumed;
            return skipped;
        }
        return PayloadRules.For(type) is { } rules ? Fields(ref s, rules, out _) : s.Skip();
    }

    /// <summary>A payload that came before its type, read again now that the type is known.</summary>
    private static bool PayloadFollows(ReadOnlySpan<byte> payload, FieldRule[] rules)
    {
        var scan = new Scan(payload, new Utf8JsonReader(payload));
        return scan.Read() && Fields(ref scan, rules, out _);
    }

    /// <summary>The object at the reader checked field by field against <paramref name="rules"/>; the highest rank among them, if any.</summary>
    private static bool Fields(ref Scan s, FieldRule[] rules, out long highestRank)
    {
        highestRank = 0;
        var seen = 0u;
        s.Open();
        while (s.Read() && s.Reader.TokenType != JsonTokenType.EndObject)
        {
            if (!s.Name(out var name))
            {
                return false;
            }
            s.Read();
            var i = rules.Length - 1;
            while (i >= 0 && !name.SequenceEqual(rules[i].Utf8Name))
            {
                i--;
            }
            if (i < 0 || s.Reader.TokenType == JsonTokenType.Null)
            {
                if (!s.Skip())
                {
                    return false;
                }
                continue;
            }
            if (!Field(ref s, rules[i], ref highestRank))
            {
                return false;
            }
            seen |= 1u << i;
        }
        s.Close();
        for (var i = 0; i < rules.Length; i++)
        {
            if (rules[i].Required && (seen & (1u << i)) == 0)
            {
                return false;
            }
        }
        return true;
    }

    private static bool Field(ref Scan s, FieldRule rule, ref long highestRank)
    {
        switch (rule.Check)
        {
            case Check.Text:
                return s.Reader.TokenType == JsonTokenType.String && s.Decodes()
                    && (!rule.Required || !s.Reader.ValueSpan.IsEmpty)
                    && (rule.MaxLength == int.MaxValue || s.Reader.ValueSpan.Length <= rule.MaxLength || CodePoints(s.Reader.ValueSpan) <= rule.MaxLength);
            case Check.Integer:
                return Integer(ref s, rule.Minimum, out _);
            case Check.Rank:
                if (!Integer(ref s, rule.Minimum, out var rank))
                {
                    return false;
                }
                highestRank = Math.Max(highestRank, rank);
                return true;
            case Check.Number:
                return s.Reader.TokenType == JsonTokenType.Number && s.Reader.TryGetDouble(out var number) && number >= rule.Minimum;
            case Check.Boolean:
                return s.Reader.TokenType is JsonTokenType.True or JsonTokenType.False;
            case Check.Present:
                return s.Skip();
            case Check.Seats:
                return Seats(ref s, rule.Entry);
            default:
                return false;
        }
    }

    /// <summary>2 to 8 objects following <paramref name="rules"/>, no rank beyond their number.</summary>
    private static bool Seats(ref Scan s, FieldRule[] rules)
    {
        if (s.Reader.TokenType != JsonTokenType.StartArray)
        {
            return false;
        }
        var count = 0;
        var highestRank = 0L;
        while (s.Read() && s.Reader.TokenType != JsonTokenType.EndArray)
        {
            if (++count > EnvelopeRules.MaxPlayers || s.Reader.TokenType != JsonTokenType.StartObject || !Fields(ref s, rules, out var rank))
            {
                return false;
            }
            highestRank = Math.Max(highestRank, rank);
        }
        return count >= EnvelopeRules.MinPlayers && highestRank <= count;
    }

    /// <summary>The code points of a JSON string's text from its bytes as sent, escapes and all (paired surrogates, as <see cref="Scan.Decodes"/> checks).</summary>
    private static int CodePoints(ReadOnlySpan<byte> raw)
    {
        var count = 0;
        for (var i = 0; i < raw.Length; count++)
        {
            if (raw[i] != (byte)'\\')
            {
                // A code point is a byte that does not continue one.
                do
                {
                    i++;
                }
                while (i < raw.Length && (raw[i] & 0xC0) == 0x80);
            }
            else
            {
                i += raw[i + 1] != (byte)'u' ? 2 : char.IsHighSurrogate(UnpairedSurrogates.CodeUnit(raw.Slice(i + 2, 4))) ? 12 : 6;
            }
        }
        return count;
    }

    private static bool Integer(ref Scan s, long minimum, out long value)
    {
        value = 0;
        return s.Reader.TokenType == JsonTokenType.Number && s.Reader.TryGetInt64(out value) && value >= minimum;
    }

    /// <summary>A string without escapes: its bytes are its text.</summary>
    private static bool Plain(ref Scan s, out ReadOnlySpan<byte> text)
    {
        var plain = s.Reader.TokenType == JsonTokenType.String && !s.Reader.ValueIsEscaped;
        text = plain ? s.Reader.ValueSpan : default;
        return plain;
    }

    /// <summary><see cref="EnvelopeRules.IdPattern"/>.</summary>
    private static bool IsId(ReadOnlySpan<byte> text)
    {
        if (text.Length is 0 or > EnvelopeRules.MaxIdLength)
        {
            return false;
        }
        foreach (var b in text)
        {
            if (!(b is (>= (byte)'a' and <= (byte)'z') or (>= (byte)'A' and <= (byte)'Z') or (>= (byte)'0' and <= (byte)'9') or (byte)'.' or (byte)'_' or (byte)':' or (byte)'-'))
            {
                return false;
            }
        }
        return true;
    }

    private static bool Id(ref Scan s, out string? id)
    {
        id = Plain(ref s, out var text) && IsId(text) ? Encoding.ASCII.GetString(text) : null;
        return id is not null;
    }

    private static bool RunId(ref Scan s, string? sameRunAs, out string? runId)
    {
        runId = null;
        if (!Plain(ref s, out var text) || !IsId(text) || Ascii.Equals(text, PipelineRun.Id))
        {
            return false;
        }
        runId = sameRunAs is not null && Ascii.Equals(text, sameRunAs) ? sameRunAs : Encoding.ASCII.GetString(text);
        return true;
    }

    /// <summary>A type of <see cref="EventTypes.Known"/> (that string) or of <see cref="EnvelopeRules.TypePattern"/>, not one the pipeline emits.</summary>
    private static bool Type(ref Scan s, out string? type)
    {
        type = null;
        if (!Plain(ref s, out var text))
        {
            return false;
        }
        // By index: a foreach over the list would allocate its enumerator.
        for (var i = 0; i < EventTypes.Known.Count; i++)
        {
            if (Ascii.Equals(text, EventTypes.Known[i]))
            {
                type = EventTypes.Known[i];
                return !EventTypes.EmittedByPipeline.Contains(type);
            }
        }
        if (text.Length is 0 or > 64 || text[0] is < (byte)'a' or > (byte)'z')
        {
            return false;
        }
        foreach (var b in text)
        {
            if (!(b is (>= (byte)'a' and <= (byte)'z') or (>= (byte)'0' and <= (byte)'9') or (byte)'_'))
            {
                return false;
            }
        }
        type = Encoding.ASCII.GetString(text);
        return true;
    }

    private static bool Timestamp(ref Scan s, out DateTimeOffset? ts)
    {
        ts = null;
        var text = s.Reader.ValueSpan;
        if (s.Reader.TokenType != JsonTokenType.String || text.Length is 0 or > MaxTimestampBytes || !s.Decodes())
        {
            return false;
        }
        if (!Rfc3339.TryParse(ref s.Reader, out var instant))
        {
            return false;
        }
        ts = instant;
        return true;
    }

    /// <summary>
    /// A reader over one event and the property names of its open objects, to find a duplicate
    /// the way <see cref="JsonDocumentOptions.AllowDuplicateProperties"/> <c>= false</c> does.
    /// </summary>
    private ref struct Scan(ReadOnlySpan<byte> json, Utf8JsonReader reader)
    {
        [ThreadStatic]
        private static int[]? t_names;

        [ThreadStatic]
        private static int[]? t_objects;

        public Utf8JsonReader Reader = reader;
        private readonly ReadOnlySpan<byte> _json = json;

        /// <summary>Offset and length of each name of the open objects, innermost last (one scan at a time on a thread).</summary>
        private readonly Span<int> _names = t_names ??= new int[2 * MaxOpenNames];

        /// <summary>Where each open object's names start in <see cref="_names"/>.</summary>
        private readonly Span<int> _objects = t_objects ??= new int[MaxOpenObjects];

        private int _nameCount;
        private int _depth;

        /// <summary>The next token, which there is inside an event: a reader at the end of its input would have thrown first.</summary>
        public bool Read() => Reader.Read() ? true : throw new JsonException("the event ends early");

        public void Open()
        {
            if (_depth == _objects.Length)
            {
                throw new JsonException("deeper than the names kept");
            }
            _objects[_depth++] = _nameCount;
        }

        public void Close() => _nameCount = _objects[--_depth];

        /// <summary>The name at the reader, unless it is escaped, repeats a name of its object or is one too many to keep.</summary>
        public bool Name(out ReadOnlySpan<byte> name)
        {
            name = Reader.ValueSpan;
            if (Reader.ValueIsEscaped || _nameCount + 2 > _names.Length)
            {
                return false;
            }
            for (var i = _objects[_depth - 1]; i < _nameCount; i += 2)
            {
                if (_json.Slice(_names[i], _names[i + 1]).SequenceEqual(name))
                {
                    return false;
                }
            }
            _json.Overlaps(name, out var offset);
            _names[_nameCount++] = offset;
            _names[_nameCount++] = name.Length;
            return true;
        }

        /// <summary>Whether the string at the reader pairs every surrogate it escapes: it can be decoded.</summary>
        public readonly bool Decodes() => !Reader.ValueIsEscaped || UnpairedSurrogates.PairedIn(Reader.ValueSpan);

        /// <summary>Reads over the value at the reader, checking its names and strings.</summary>
        public bool Skip()
        {
            switch (Reader.TokenType)
            {
                case JsonTokenType.String:
                    return Decodes();
                case JsonTokenType.StartObject:
                    Open();
                    while (Read() && Reader.TokenType != JsonTokenType.EndObject)
                    {
                        if (!Name(out _) || !Read() || !Skip())
                        {
                            return false;
                        }
                    }
                    Close();
                    return true;
                case JsonTokenType.StartArray:
                    while (Read() && Reader.TokenType != JsonTokenType.EndArray)
                    {
                        if (!Skip())
                        {
                            return false;
                        }
                    }
                    return true;
                default:
                    return true;
            }
        }
    }
}
