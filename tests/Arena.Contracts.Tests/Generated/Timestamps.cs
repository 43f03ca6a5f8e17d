using System.Globalization;

namespace Arena.Contracts.Tests.Generated;

/// <summary>RFC 3339 date-times: the forms both judges accept, the malformed ones both refuse, and the ones only ingest refuses.</summary>
internal static class Timestamps
{
    /// <summary>Any date-time of years 1000–9998 (no offset takes those past the representable range), fraction of 0 to 30 digits.</summary>
    public static string Valid(Choices c)
    {
        var (year, month, day) = Date(c);
        return Format(c, year, month, day, c.Int(0, 23), c.Int(0, 59), c.Int(0, 59), Zone(c, out _));
    }

    /// <summary>A leap second where RFC 3339 puts it: 23:59:60 in UTC, written in any offset.</summary>
    public static string LeapSecond(Choices c)
    {
        var (year, month, day) = Date(c);
        var zone = Zone(c, out var offset);
        var local = LeapMinute(offset);
        return Format(c, year, month, day, local / 60, local % 60, 60, zone);
    }

    /// <summary>Second 60 of a minute that is not 23:59 in UTC: the pattern cannot relate the time to its offset.</summary>
    public static string MisplacedLeapSecond(Choices c)
    {
        var (year, month, day) = Date(c);
        var zone = Zone(c, out var offset);
        var local = (LeapMinute(offset) + c.Int(1, 1439)) % 1440;
        return Format(c, year, month, day, local / 60, local % 60, 60, zone);
    }

    public static readonly string[] Edges =
    [
        "0001-01-01T00:00:00Z", "0001-01-01T00:00:00-01:00", "9999-12-31T23:59:59.9999999Z", "9999-12-31T23:59:59.999999999999Z",
        "9999-12-31T23:59:60Z", "2024-02-29T00:00:00Z", "2000-02-29T12:00:00Z", "0400-02-29T00:00:00Z", "1998-12-31T23:59:60Z",
        "1998-12-31T15:59:60.123-08:00", "2026-11-23T10:00:00.123456789Z", "2026-11-23t10:00:00.5z", "2026-11-23T10:00:00+23:59",
        "2026-11-23T10:00:00-00:00", "2026-11-23T10:00:00.000000000000000000000000000001+05:30",
    ];

    /// <summary>Not RFC 3339 date-times (or impossible dates): the published pattern and ingest refuse them.</summary>
    public static readonly string[] Malformed =
    [
        "2026-11-23T10:00:00", "2026-11-23 10:00:00Z", "2026-11-23", "2026-11-23T10:00Z", "2026-13-01T00:00:00Z", "2026-00-10T00:00:00Z",
        "2026-02-30T00:00:00Z", "2026-02-29T00:00:00Z", "1900-02-29T00:00:00Z", "2026-04-31T00:00:00Z", "2026-11-23T24:00:00Z",
        "2026-11-23T10:60:00Z", "2026-11-23T10:00:61Z", "2026-11-23T10:00:00.Z", "2026-11-23T10:00:00,5Z", "2026-11-23T10:00:00+24:00",
        "2026-11-23T10:00:00+01:60", "2026-11-23T10:00:00+0100", "2026-11-23T10:00:00Z\n", "0000-01-01T00:00:00Z", "0000-02-29T00:00:00Z",
        "+2026-11-23T10:00:00Z", "２０２６-11-23T10:00:00Z", "2026-11-23T1\u0661:00:00Z", "2026-11-23T10:00:00ZZ", "", "now",
        " 2026-11-23T10:00:00Z", "2026-11-23T10:00:00.1234567890\u0661Z",
    ];

    /// <summary>Well-formed, but the instant lies before 0001-01-01T00:00:00Z or after 9999-12-31T23:59:59.9999999Z.</summary>
    public static readonly string[] OutOfRange =
    [
        "0001-01-01T00:00:00+00:01", "0001-01-01T00:59:59.999+01:00", "9999-12-31T23:59:59-00:01", "9999-12-31T23:00:00-01:00",
    ];

    /// <summary>The local minute of the day at which a time in this offset is 23:59 UTC.</summary>
    private static int LeapMinute(int offsetMinutes) => ((23 * 60 + 59 + offsetMinutes) % 1440 + 1440) % 1440;

    private static (int Year, int Month, int Day) Date(Choices c)
    {
        var year = c.Int(1000, 9998);
        var month = c.Int(1, 12);
        return (year, month, c.Int(1, DateTime.DaysInMonth(year, month)));
    }

    private static string Zone(Choices c, out int offsetMinutes)
    {
        if (c.OneIn(3))
        {
            offsetMinutes = 0;
            return c.Pick("Z", "z");
        }
        var sign = c.Pick(1, -1);
        var (hours, minutes) = (c.Int(0, 23), c.Int(0, 59));
        offsetMinutes = sign * (hours * 60 + minutes);
        return string.Create(CultureInfo.InvariantCulture, $"{(sign > 0 ? '+' : '-')}{hours:D2}:{minutes:D2}");
    }

    private static string Format(Choices c, int year, int month, int day, int hour, int minute, int second, string zone)
    {
        var digits = c.Pick(0, 0, 3, 6, 7, 9, c.Int(1, 30));
        var fraction = digits == 0 ? "" : "." + c.Text("0123456789", digits);
        return string.Create(CultureInfo.InvariantCulture,
            $"{year:D4}-{month:D2}-{day:D2}{c.Pick('T', 't')}{hour:D2}:{minute:D2}:{second:D2}{fraction}{zone}");
    }
}
