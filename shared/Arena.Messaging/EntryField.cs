using System.Globalization;
using System.Text;
using Arena.Contracts;
using StackExchange.Redis;

namespace Arena.Messaging;

/// <summary>
/// A field name of a stream entry, matched against the bytes Redis returned. Looking a field up
/// by a <see cref="string"/> (<c>entry[name]</c>) compares through <see cref="RedisValue"/>'s
/// equality, which tries each name as a number first: about half a microsecond per field per
/// look-up, several look-ups per entry on every consumer's hot path.
/// </summary>
public sealed class EntryField(string name)
{
    public static readonly EntryField Envelope = new(StreamFields.Envelope);
    public static readonly EntryField IngestedAt = new(StreamFields.IngestedAt);
    public static readonly EntryField Producer = new(StreamFields.Producer);
    public static readonly EntryField ReplayFor = new(DeadLetters.ReplayFor);

    private readonly byte[] _utf8 = Encoding.UTF8.GetBytes(name);

    public string Name { get; } = name;

    /// <summary>Whether <paramref name="fieldName"/>, as Redis returned it, is this name.</summary>
    public bool Is(RedisValue fieldName) => fieldName.Length() == _utf8.Length && fieldName.StartsWith(_utf8);

    /// <summary>The value of the first field of <paramref name="entry"/> with this name, or null, as <c>entry[name]</c> gives it.</summary>
    public RedisValue In(StreamEntry entry)
    {
        foreach (var field in entry.Values ?? [])
        {
            if (Is(field.Name))
            {
                return field.Value;
            }
        }
        return RedisValue.Null;
    }

    /// <summary>
    /// Reads a value of plain decimal digits (as <see cref="long.TryParse(string, NumberStyles, IFormatProvider, out long)"/>
    /// with <see cref="NumberStyles.None"/> does) without making a string of it.
    /// </summary>
    public static bool TryParseDigits(RedisValue value, out long number)
    {
        Span<byte> digits = stackalloc byte[32];
        var length = value.Length();
        if (value.IsNull || length > digits.Length)
        {
            return long.TryParse(value.ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out number);
        }
        value.CopyTo(digits);
        return long.TryParse(digits[..(int)length], NumberStyles.None, CultureInfo.InvariantCulture, out number);
    }
}
