using System.Runtime.InteropServices;
using System.Text.Json;

namespace Arena.Contracts.Validation;

/// <summary>
/// Reads the fields of one JSON object and records a precise error for each field that is
/// missing or of the wrong shape. Optional fields may be absent or null.
/// </summary>
internal readonly struct FieldReader(JsonElement obj, string path, int index, List<ValidationError> errors)
{
    public string Path => path;

    public string Of(string name) => path.Length == 0 ? name : $"{path}.{name}";

    public void Fail(string field, string message) => errors.Add(new ValidationError(index, field, message));

    public FieldReader Nested(JsonElement value, string nestedPath) => new(value, nestedPath, index, errors);

    public bool TryGet(string name, out JsonElement value) =>
        obj.TryGetProperty(name, out value) && value.ValueKind != JsonValueKind.Null;

    private bool Required(string name, out JsonElement value)
    {
        if (TryGet(name, out value))
        {
            return true;
        }
        Fail(Of(name), "is required");
        return false;
    }

    public string? String(string name, bool required, int maxLength = int.MaxValue)
    {
        if (!(required ? Required(name, out var value) : TryGet(name, out value)))
        {
            return null;
        }
        if (value.ValueKind != JsonValueKind.String)
        {
            Fail(Of(name), $"must be a string, not {Describe(value)}");
            return null;
        }
        var text = value.GetString()!;
        if (required && text.Length == 0)
        {
            Fail(Of(name), "must not be empty");
            return null;
        }
        // Characters are Unicode code points, as JSON Schema's maxLength counts them: an emoji is one, not two UTF-16 units.
        if (text.Length > maxLength && CodePoints(text) is var length && length > maxLength)
        {
            Fail(Of(name), $"must be at most {maxLength} characters (got {length})");
            return null;
        }
        return text;
    }

    /// <summary>
    /// The checks of <see cref="String"/> without reading the text into a .NET string, for the
    /// fields that are only checked; a string with an escape is read as <see cref="String"/> does.
    /// </summary>
    public void CheckString(string name, bool required, int maxLength = int.MaxValue)
    {
        if (!TryGetPlain(name, out var text))
        {
            String(name, required, maxLength);
            return;
        }
        if (required && text.IsEmpty)
        {
            Fail(Of(name), "must not be empty");
            return;
        }
        // The bytes are valid UTF-8 (the body was checked): a code point is a byte that does not continue one.
        if (text.Length > maxLength && CodePoints(text) is var length && length > maxLength)
        {
            Fail(Of(name), $"must be at most {maxLength} characters (got {length})");
        }
    }

    /// <summary>A string field's UTF-8 bytes between its quotes when it holds no escape (so they are its text); false otherwise.</summary>
    public bool TryGetPlain(string name, out ReadOnlySpan<byte> text)
    {
        text = TryGet(name, out var value) && value.ValueKind == JsonValueKind.String ? JsonMarshal.GetRawUtf8Value(value)[1..^1] : default;
        return value.ValueKind == JsonValueKind.String && !text.Contains((byte)'\\');
    }

    private static int CodePoints(ReadOnlySpan<byte> utf8)
    {
        var count = 0;
        foreach (var b in utf8)
        {
            count += (b & 0xC0) == 0x80 ? 0 : 1;
        }
        return count;
    }

    /// <summary>One of <paramref name="known"/> when the string field holds it (the same string, not a copy), else <see cref="String"/>.</summary>
    public string? String(string name, bool required, IReadOnlyList<string> known)
    {
        if (TryGet(name, out var value) && value.ValueKind == JsonValueKind.String)
        {
            for (var i = 0; i < known.Count; i++)
            {
                if (value.ValueEquals(known[i]))
                {
                    return known[i];
                }
            }
        }
        return String(name, required);
    }

    private static int CodePoints(string text)
    {
        var count = 0;
        foreach (var _ in text.EnumerateRunes())
        {
            count++;
        }
        return count;
    }

    public long? Integer(string name, bool required, long minimum)
    {
        if (!(required ? Required(name, out var value) : TryGet(name, out value)))
        {
            return null;
        }
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt64(out var number))
        {
            Fail(Of(name), $"must be an integer, not {Describe(value)}");
            return null;
        }
        if (number < minimum)
        {
            Fail(Of(name), $"must be at least {minimum} (got {number})");
            return null;
        }
        return number;
    }

    public double? Number(string name, bool required, double minimum)
    {
        if (!(required ? Required(name, out var value) : TryGet(name, out value)))
        {
            return null;
        }
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetDouble(out var number))
        {
            Fail(Of(name), $"must be a number, not {Describe(value)}");
            return null;
        }
        if (number < minimum)
        {
            Fail(Of(name), $"must be at least {minimum} (got {value.GetRawText()})");
            return null;
        }
        return number;
    }

    public bool? Boolean(string name, bool required = true)
    {
        if (!(required ? Required(name, out var value) : TryGet(name, out value)))
        {
            return null;
        }
        if (value.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
        {
            Fail(Of(name), $"must be true or false, not {Describe(value)}");
            return null;
        }
        return value.GetBoolean();
    }

    /// <summary>A required field that may hold any JSON value except null.</summary>
    public void Present(string name) => Required(name, out _);

    public JsonElement? Array(string name, int minItems, int maxItems)
    {
        if (!Required(name, out var value))
        {
            return null;
        }
        if (value.ValueKind != JsonValueKind.Array)
        {
            Fail(Of(name), $"must be an array, not {Describe(value)}");
            return null;
        }
        var count = value.GetArrayLength();
        if (count < minItems || count > maxItems)
        {
            Fail(Of(name), $"must have {minItems} to {maxItems} entries (got {count})");
            return null;
        }
        return value;
    }

    public static string Describe(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => $"the number {value.GetRawText()}",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Null => "null",
        _ => "nothing",
    };
}
