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
    private static bool MayContain(ReadOnlySpan<byte> raw)
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
