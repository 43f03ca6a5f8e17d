using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Arena.Contracts;

/// <summary>
/// The envelope's <c>ts</c>: an RFC 3339 date-time (section 5.6) with 'T' or 't', any number of
/// fraction digits, and 'Z', 'z' or an offset up to ±23:59. The pipeline reads it to the
/// microsecond, truncating further digits (DuckDB's TIMESTAMPTZ holds microseconds; the
/// stored envelope keeps the text as sent). A leap second is accepted where RFC 3339 puts
/// one, at 23:59:60 UTC, and read as 23:59:59.999999, the last instant of that day the
/// column can hold. Instants must fall within years 1 to 9999 in UTC.
/// </summary>
public static partial class Rfc3339
{
    /// <summary>
    /// The grammar, with only days that exist (29 February in leap years), in a regex dialect
    /// that .NET and ECMA-262 read alike: the envelope schema's <c>ts</c> pattern is this string.
    /// <c>(?![\s\S])</c> is the end of input; '$' also matches before a final newline.
    /// </summary>
    public const string Pattern =
        @"^(?!0000)(?:[0-9]{4}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)|02-(?:0[1-9]|1[0-9]|2[0-8]))"
        + @"|(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:[02468][048]|[13579][26])00)-02-29)"
        + @"[Tt](?:[01][0-9]|2[0-3]):[0-5][0-9]:(?:[0-5][0-9]|60)(?:\.[0-9]+)?(?:[Zz]|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])(?![\s\S])";

    public const string GrammarProblem = "must be an RFC 3339 date-time with a time zone and a real calendar date, e.g. 2026-11-23T10:00:00.123Z";
    public const string LeapSecondProblem = "has second 60, which RFC 3339 allows only as the leap second 23:59:60 UTC";
    public const string RangeProblem = "must be an instant from 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999Z";

    private const int FractionAt = 19;
    private const long LastSecondOfDay = (23 * 3600 + 59 * 60 + 59) * TimeSpan.TicksPerSecond;

    [GeneratedRegex(Pattern, RegexOptions.CultureInvariant)]
    private static partial Regex Grammar();

    /// <summary>The instant in UTC, truncated to the microsecond; or false with the reason.</summary>
    public static bool TryParse(string text, out DateTimeOffset instant, out string? problem) => TryParse(text.AsSpan(), out instant, out problem);

    /// <inheritdoc cref="TryParse(string, out DateTimeOffset, out string?)"/>
    public static bool TryParse(ReadOnlySpan<char> text, out DateTimeOffset instant, out string? problem)
    {
        if (!Grammar().IsMatch(text))
        {
            instant = default;
            problem = GrammarProblem;
            return false;
        }
        return Instant(text, out instant, out problem);
    }

    /// <summary>
    /// <see cref="TryParse(string, out DateTimeOffset, out string?)"/> of UTF-8 text: the same
    /// grammar (<see cref="Pattern"/>) checked byte by byte, without the regex.
    /// </summary>
    public static bool TryParse(ReadOnlySpan<byte> utf8, out DateTimeOffset instant, out string? problem)
    {
        if (!IsGrammatical(utf8))
        {
            instant = default;
            problem = GrammarProblem;
            return false;
        }
        // The grammar admits only ASCII.
        Span<char> text = utf8.Length <= 256 ? stackalloc char[utf8.Length] : new char[utf8.Length];
        Ascii.ToUtf16(utf8, text, out _);
        return Instant(text, out instant, out problem);
    }

    /// <summary>
    /// <see cref="TryParse(ReadOnlySpan{byte}, out DateTimeOffset, out string?)"/> of the JSON string
    /// <paramref name="reader"/> stands on, read where it lies; an escaped one (.NET's default
    /// encoder sends the '+' of an offset as "\u002B") is unescaped into characters first.
    /// </summary>
    public static bool TryParse(ref Utf8JsonReader reader, out DateTimeOffset instant)
    {
        if (!reader.ValueIsEscaped)
        {
            return TryParse(reader.ValueSpan, out instant, out _);
        }
        Span<char> text = reader.ValueSpan.Length <= 256 ? stackalloc char[reader.ValueSpan.Length] : new char[reader.ValueSpan.Length];
        return TryParse(text[..reader.CopyString(text)], out instant, out _);
    }

    /// <summary><see cref="Pattern"/>, position by position.</summary>
    private static bool IsGrammatical(ReadOnlySpan<byte> t)
    {
        if (t.Length < 20 || t[4] != (byte)'-' || t[7] != (byte)'-' || t[10] is not ((byte)'T' or (byte)'t') || t[13] != (byte)':' || t[16] != (byte)':'
            || !Number(t[..4], out var year) || !Number(t[5..7], out var month) || !Number(t[8..10], out var day)
            || !Number(t[11..13], out var hour) || !Number(t[14..16], out var minute) || !Number(t[17..19], out var second)
            || year == 0 || month is < 1 or > 12 || day < 1 || day > DateTime.DaysInMonth(year, month) || hour > 23 || minute > 59 || second > 60)
        {
            return false;
        }
        var at = FractionAt;
        if (t[at] == (byte)'.')
        {
            var digits = ++at;
            while (at < t.Length && char.IsAsciiDigit((char)t[at]))
            {
                at++;
            }
            if (at == digits)
            {
                return false;
            }
        }
        if (at < t.Length && t[at] is (byte)'Z' or (byte)'z')
        {
            return at + 1 == t.Length;
        }
        return at + 6 == t.Length && t[at] is (byte)'+' or (byte)'-' && t[at + 3] == (byte)':'
            && Number(t.Slice(at + 1, 2), out var offsetHours) && offsetHours <= 23 && Number(t.Slice(at + 4, 2), out var offsetMinutes) && offsetMinutes <= 59;
    }

    /// <summary>The value of ASCII digits, and only digits.</summary>
    private static bool Number(ReadOnlySpan<byte> digits, out int value)
    {
        value = 0;
        foreach (var d in digits)
        {
            if (!char.IsAsciiDigit((char)d))
            {
                return false;
            }
            value = value * 10 + (d - '0');
        }
        return true;
    }

    /// <summary>The instant of a text that follows the grammar.</summary>
    private static bool Instant(ReadOnlySpan<char> text, out DateTimeOffset instant, out string? problem)
    {
        instant = default;
        // The grammar fixes every position up to the seconds.
        var second = Digits(text, 17, 2);
        var local = new DateTime(Digits(text, 0, 4), Digits(text, 5, 2), Digits(text, 8, 2), Digits(text, 11, 2), Digits(text, 14, 2), Math.Min(second, 59)).Ticks;
        var zoneAt = FractionAt + text[FractionAt..].IndexOfAny("Zz+-");
        var offset = text[zoneAt] is 'Z' or 'z'
            ? 0
            : (text[zoneAt] == '-' ? -1 : 1) * (Digits(text, zoneAt + 1, 2) * TimeSpan.TicksPerHour + Digits(text, zoneAt + 4, 2) * TimeSpan.TicksPerMinute);
        var utc = local - offset;

        if (second == 60)
        {
            if (((utc % TimeSpan.TicksPerDay) + TimeSpan.TicksPerDay) % TimeSpan.TicksPerDay != LastSecondOfDay)
            {
                problem = LeapSecondProblem;
                return false;
            }
            utc += TimeSpan.TicksPerSecond - TimeSpan.TicksPerMicrosecond;
        }
        else if (text[FractionAt] == '.')
        {
            utc += Microseconds(text.Slice(FractionAt + 1, zoneAt - FractionAt - 1)) * TimeSpan.TicksPerMicrosecond;
        }

        if (utc < DateTime.MinValue.Ticks || utc > DateTime.MaxValue.Ticks)
        {
            problem = RangeProblem;
            return false;
        }
        instant = new DateTimeOffset(utc, TimeSpan.Zero);
        problem = null;
        return true;
    }

    private static int Digits(ReadOnlySpan<char> text, int at, int count) =>
        int.Parse(text.Slice(at, count), NumberStyles.None, CultureInfo.InvariantCulture);

    /// <summary>The first six fraction digits as microseconds: the rest are truncated, never rounded up into the next second.</summary>
    private static long Microseconds(ReadOnlySpan<char> fraction)
    {
        var microseconds = 0L;
        for (var i = 0; i < 6; i++)
        {
            microseconds = microseconds * 10 + (i < fraction.Length ? fraction[i] - '0' : 0);
        }
        return microseconds;
    }
}
