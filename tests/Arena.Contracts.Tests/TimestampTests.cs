using System.Globalization;
using System.Text;
using System.Text.Json;
using Arena.Contracts.Validation;

namespace Arena.Contracts.Tests;

/// <summary>
/// How <c>ts</c> is read by <see cref="EnvelopeHeader"/>, the parser whose value the
/// persister writes to its TIMESTAMPTZ column (microseconds): to the microsecond, truncated.
/// </summary>
public sealed class TimestampTests
{
    private static DateTimeOffset Read(string ts)
    {
        var json = $$$"""{"event_id":"e","run_id":"r","seq":1,"type":"turn_start","schema_version":1,"ts":"{{{ts}}}","payload":{}}""";
        var header = EnvelopeHeader.TryRead(Encoding.UTF8.GetBytes(json), out var problem);
        Assert.True(header is not null, problem);
        return header.Ts;
    }

    private static DateTimeOffset Utc(string text) => DateTimeOffset.Parse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);

    [Theory]
    [InlineData("2026-11-23T10:00:00.123456789Z", "2026-11-23T10:00:00.123456Z")]
    [InlineData("2026-11-23T10:00:00.1234569Z", "2026-11-23T10:00:00.123456Z")]
    [InlineData("2026-11-23T10:00:00.9999999999999999999999Z", "2026-11-23T10:00:00.999999Z")]
    [InlineData("2026-11-23T10:00:00.5Z", "2026-11-23T10:00:00.5Z")]
    [InlineData("2026-11-23T10:00:00Z", "2026-11-23T10:00:00Z")]
    [InlineData("1969-12-31T23:59:59.0000019Z", "1969-12-31T23:59:59.000001Z")]
    public void Fraction_digits_beyond_the_microsecond_are_truncated_never_rounded(string ts, string stored)
    {
        Assert.Equal(Utc(stored).UtcTicks, Read(ts).UtcTicks);
    }

    [Theory]
    [InlineData("2026-11-23T10:00:00+23:59", "2026-11-22T10:01:00Z")]
    [InlineData("2026-11-23T10:00:00-23:59", "2026-11-24T09:59:00Z")]
    [InlineData("2026-11-23t10:00:00.25z", "2026-11-23T10:00:00.25Z")]
    [InlineData("2026-11-23T10:00:00-00:00", "2026-11-23T10:00:00Z")]
    [InlineData("2026-11-23T10:00:00\\u002B23:59", "2026-11-22T10:01:00Z")]
    public void Every_rfc3339_offset_and_letter_case_is_read_as_its_utc_instant(string ts, string utc)
    {
        var instant = Read(ts);

        Assert.Equal(Utc(utc).UtcTicks, instant.UtcTicks);
        Assert.Equal(TimeSpan.Zero, instant.Offset);
    }

    [Theory]
    [InlineData("1998-12-31T23:59:60Z")]
    [InlineData("1998-12-31T23:59:60.75Z")]
    [InlineData("1998-12-31T15:59:60.123-08:00")]
    [InlineData("1999-01-01T05:29:60+05:30")]
    public void Leap_second_is_read_as_the_last_microsecond_of_its_utc_day(string ts)
    {
        Assert.Equal(Utc("1998-12-31T23:59:59.999999Z").UtcTicks, Read(ts).UtcTicks);
    }

    [Theory]
    [InlineData("1998-12-31T23:58:60Z", Rfc3339.LeapSecondProblem)]
    [InlineData("1998-12-31T23:59:60+01:00", Rfc3339.LeapSecondProblem)]
    [InlineData("0001-01-01T00:30:00+01:00", Rfc3339.RangeProblem)]
    [InlineData("9999-12-31T23:59:59-00:01", Rfc3339.RangeProblem)]
    [InlineData("2026-11-23T10:00:00.Z", Rfc3339.GrammarProblem)]
    [InlineData("2026-02-29T10:00:00Z", Rfc3339.GrammarProblem)]
    public void Timestamp_outside_rfc3339_or_the_representable_range_says_why(string ts, string problem)
    {
        Assert.False(Rfc3339.TryParse(ts, out _, out var why));
        Assert.Equal(problem, why);
    }

    [Fact]
    public void Stored_envelope_keeps_the_timestamp_text_as_sent()
    {
        const string Ts = "2026-11-23T10:00:00.123456789+05:30";
        using var sent = JsonDocument.Parse($$$"""{"run_id":"r","seq":1,"type":"chat","schema_version":1,"ts":"{{{Ts}}}","payload":{}}""");
        var evt = EnvelopeValidator.Validate(sent.RootElement, 0, [])!;

        using var stored = JsonDocument.Parse(CanonicalEnvelope.Write(evt, "e"));

        Assert.Equal(Ts, stored.RootElement.GetProperty("ts").GetString());
    }
}
