using System.Buffers.Text;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace Arena.Contracts.Validation;

/// <summary>
/// Finds text whose <c>\u</c> escapes leave a UTF-16 surrogate unpaired, such as
/// <c>"\ud800"</c>: valid JSON syntax, but not Unicode, so no consumer can read it as a string.
/// </summary>
internal static class UnpairedSurrogates
{
    public const string Message = "contains an unpaired UTF-16 surrogate escape (\\uD800 to \\uDFFF); text must be valid Unicode";

    /// <summary>The path of the first string, or of the object holding the first property name, with an unpaired surrogate; null when there is none.</summary>
    public static string? Find(JsonElement json) =>
        MayContain(JsonMarshal.GetRawUtf8Value(json)) ? Walk(json, "") : null;

    /// <summary>Whether the raw JSON escapes a surrogate code unit at all; almost every event does not, and is not walked.</summary>
    public static bool MayContain(ReadOnlySpan<byte> raw)
    {
        for (var at = raw.IndexOf("\\u"u8); at >= 0 && at + 3 < raw.Length; )
        {
            if (raw[at + 2] is (byte)'d' or (byte)'D' && raw[at + 3] is (>= (byte)'8' and <= (byte)'9') or (>= (byte)'a' and <= (byte)'f') or (>= (byte)'A' and <= (byte)'F'))
            {
                return true;
            }
            var next = raw[(at + 2)..].IndexOf("\\u"u8);
            at = next < 0 ? -1 : at + 2 + next;
        }
        return false;
    }

    /// <summary>Whether the text of a JSON string as sent (between its quotes, escapes and all) pairs every surrogate it escapes.</summary>
    public static bool PairedIn(ReadOnlySpan<byte> raw)
    {
        // A valid JSON string's backslash starts an escape, and "\u" has four hex digits.
        for (var at = raw.IndexOf((byte)'\\'); at >= 0; )
        {
            var length = 2;
            if (raw[at + 1] == (byte)'u')
            {
                var unit = CodeUnit(raw.Slice(at + 2, 4));
                length = 6;
                if (char.IsLowSurrogate(unit))
                {
                    return false;
                }
                if (char.IsHighSurrogate(unit))
                {
                    if (at + 12 > raw.Length || raw[at + 6] != (byte)'\\' || raw[at + 7] != (byte)'u' || !char.IsLowSurrogate(CodeUnit(raw.Slice(at + 8, 4))))
                    {
                        return false;
                    }
                    length = 12;
                }
            }
            var next = raw[(at + length)..].IndexOf((byte)'\\');
            at = next < 0 ? -1 : at + length + next;
        }
        return true;
    }

    /// <summary>The code unit of a <c>\\u</c> escape's four hex digits.</summary>
    public static char CodeUnit(ReadOnlySpan<byte> hex) => Utf8Parser.TryParse(hex, out ushort unit, out _, 'X') ? (char)unit : '\0';

    private static string? Walk(JsonElement element, string path)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.String:
                return Decodes(() => element.GetString()) ? null : path;
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    if (!Decodes(() => property.Name))
                    {
                        return path;
                    }
                    if (Walk(property.Value, path.Length == 0 ? property.Name : $"{path}.{property.Name}") is { } found)
                    {
                        return found;
                    }
                }
                return null;
            case JsonValueKind.Array:
                var i = 0;
                foreach (var item in element.EnumerateArray())
                {
                    if (Walk(item, string.Create(CultureInfo.InvariantCulture, $"{path}[{i++}]")) is { } found)
                    {
                        return found;
                    }
                }
                return null;
            default:
                return null;
        }
    }

    /// <summary>System.Text.Json refuses to decode an unpaired surrogate; this rare path is the only one that gets here.</summary>
    private static bool Decodes(Func<string?> read)
    {
        try
        {
            read();
            return true;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }
}
