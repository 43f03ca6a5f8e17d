using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace Arena.Contracts;

/// <summary>A Redis stream entry ID, <c>ms-seq</c>. Orders numerically, never as text.</summary>
public readonly record struct StreamId(long Milliseconds, long Sequence) : IComparable<StreamId>
{
    public static StreamId Zero => default;

    public static bool TryParse([NotNullWhen(true)] string? text, out StreamId id)
    {
        id = default;
        if (string.IsNullOrEmpty(text))
        {
            return false;
        }
        var dash = text.IndexOf('-', StringComparison.Ordinal);
        if (dash <= 0 || dash == text.Length - 1)
        {
            return false;
        }
        if (!long.TryParse(text.AsSpan(0, dash), NumberStyles.None, CultureInfo.InvariantCulture, out var ms)
            || !long.TryParse(text.AsSpan(dash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var seq))
        {
            return false;
        }
        id = new StreamId(ms, seq);
        return true;
    }

    public static StreamId Parse(string text) =>
        TryParse(text, out var id) ? id : throw new FormatException($"'{text}' is not a stream ID (expected <ms>-<seq>).");

    /// <summary>
    /// The greatest ID below this one, for "resume after" and inclusive ranges. Redis allows
    /// sequence numbers up to 2^64−1; within one millisecond they never reach 2^63, so
    /// <see cref="long.MaxValue"/> stands in for the last sequence of the millisecond before.
    /// </summary>
    public StreamId Previous() =>
        Sequence > 0 ? new StreamId(Milliseconds, Sequence - 1)
        : Milliseconds > 0 ? new StreamId(Milliseconds - 1, long.MaxValue)
        : Zero;

    /// <summary>The least ID above this one, for exclusive upper bounds; the inverse of <see cref="Previous"/>.</summary>
    public StreamId Next() =>
        Sequence < long.MaxValue ? new StreamId(Milliseconds, Sequence + 1) : new StreamId(Milliseconds + 1, 0);

    public int CompareTo(StreamId other)
    {
        var byMs = Milliseconds.CompareTo(other.Milliseconds);
        return byMs != 0 ? byMs : Sequence.CompareTo(other.Sequence);
    }

    public static bool operator <(StreamId left, StreamId right) => left.CompareTo(right) < 0;
    public static bool operator >(StreamId left, StreamId right) => left.CompareTo(right) > 0;
    public static bool operator <=(StreamId left, StreamId right) => left.CompareTo(right) <= 0;
    public static bool operator >=(StreamId left, StreamId right) => left.CompareTo(right) >= 0;

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Milliseconds}-{Sequence}");
}
