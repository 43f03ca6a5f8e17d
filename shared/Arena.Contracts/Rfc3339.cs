using System.Globalization;
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
        instant = default;
        if (!Grammar().IsMatch(text))
        {
            problem = GrammarProblem;
            return false;
        }

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
