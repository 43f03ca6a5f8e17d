using System.Numerics;

namespace Arena.Load;

/// <summary>
/// A log-linear (HDR-style) histogram of latencies in microseconds, safe to record into from
/// many threads at once and allocation-free while recording. Values below 2^8 µs are kept
/// exactly; above, each power of two is split into 256 buckets, so a reported value is at
/// most 1/256 (0.4%) above the true one and never below it. Values from 0 to 2^40 µs (~12
/// days); larger ones are clamped.
/// </summary>
public sealed class LatencyHistogram
{
    private const int SubBits = 8;
    private const int SubCount = 1 << SubBits;
    private const int MaxExponent = 40;
    private const long MaxValue = (1L << MaxExponent) - 1;

    private readonly long[] _counts = new long[(MaxExponent - SubBits + 2) * SubCount];
    private long _count;
    private long _sum;
    private long _max;

    public long Count => Interlocked.Read(ref _count);

    public void RecordMicroseconds(long value)
    {
        value = Math.Clamp(value, 0, MaxValue);
        Interlocked.Increment(ref _counts[IndexOf(value)]);
        Interlocked.Increment(ref _count);
        Interlocked.Add(ref _sum, value);
        var max = Volatile.Read(ref _max);
        while (value > max)
        {
            var seen = Interlocked.CompareExchange(ref _max, value, max);
            if (seen == max)
            {
                break;
            }
            max = seen;
        }
    }

    public void RecordMilliseconds(double milliseconds) =>
        RecordMicroseconds(double.IsFinite(milliseconds) ? (long)Math.Round(milliseconds * 1000) : MaxValue);

    /// <summary>
    /// The nearest-rank percentile (the smallest recorded value with at least
    /// <paramref name="percent"/>% of values at or below it), in microseconds, as the top of
    /// its bucket capped at the largest value recorded. 0 when empty.
    /// </summary>
    public long PercentileMicroseconds(double percent)
    {
        var total = Count;
        if (total == 0)
        {
            return 0;
        }
        var rank = Math.Max(1, (long)Math.Ceiling(Math.Clamp(percent, 0, 100) / 100 * total));
        long seen = 0;
        for (var i = 0; i < _counts.Length; i++)
        {
            seen += Interlocked.Read(ref _counts[i]);
            if (seen >= rank)
            {
                return Math.Min(HighestInBucket(i), Interlocked.Read(ref _max));
            }
        }
        return Interlocked.Read(ref _max);
    }

    public LatencySummary Summary()
    {
        var count = Count;
        static double Ms(long us) => us / 1000.0;
        return new LatencySummary(
            count,
            count == 0 ? 0 : Math.Round(Interlocked.Read(ref _sum) / 1000.0 / count, 3),
            Ms(PercentileMicroseconds(50)),
            Ms(PercentileMicroseconds(99)),
            Ms(PercentileMicroseconds(99.9)),
            Ms(Interlocked.Read(ref _max)));
    }

    internal static int IndexOf(long value)
    {
        if (value < SubCount)
        {
            return (int)value;
        }
        var exponent = 63 - BitOperations.LeadingZeroCount((ulong)value); // >= SubBits
        var shift = exponent - SubBits;
        return ((shift + 1) << SubBits) + (int)((value >> shift) - SubCount);
    }

    internal static long HighestInBucket(int index)
    {
        if (index < SubCount)
        {
            return index;
        }
        var shift = (index >> SubBits) - 1;
        var low = (long)(SubCount + (index & (SubCount - 1))) << shift;
        return low + (1L << shift) - 1;
    }
}

/// <summary>Latency figures in milliseconds; percentiles are nearest-rank.</summary>
public sealed record LatencySummary(long Count, double MeanMs, double P50Ms, double P99Ms, double P999Ms, double MaxMs);

/// <summary>Exact percentiles of a small set of samples.</summary>
public static class Percentiles
{
    /// <summary>Nearest rank: the smallest sample with at least <paramref name="percent"/>% of samples at or below it; 0 when empty.</summary>
    public static double NearestRank(IReadOnlyList<double> sorted, double percent)
    {
        if (sorted.Count == 0)
        {
            return 0;
        }
        var rank = Math.Max(1, (int)Math.Ceiling(Math.Clamp(percent, 0, 100) / 100 * sorted.Count));
        return sorted[rank - 1];
    }
}
