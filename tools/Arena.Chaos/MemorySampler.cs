using System.Diagnostics;
using System.Globalization;

namespace Arena.Chaos;

/// <summary>Each service's resident memory (VmRSS) and Redis's <c>used_memory</c>, in bytes, at a minute of the soak.</summary>
public sealed record MemorySample(double Minute, IReadOnlyDictionary<string, long> Bytes);

/// <summary>
/// How one process's memory moved over a soak. The first third is warm-up (JIT, pools, caches,
/// the dedupe window filling); the memory is flat when the last third's mean has grown beyond the
/// middle third's by no more than <see cref="RelativeSlack"/> of it or <see cref="FixedSlackMiB"/>,
/// whichever is larger — a leak of a few MiB a minute shows as well as a steady climb.
/// </summary>
public sealed record MemoryTrend(string Process, double StartMiB, double EndMiB, double MiddleMiB, double LastMiB)
{
    public const double RelativeSlack = 0.15;
    public const double FixedSlackMiB = 30;

    public double AllowedMiB => Math.Max(RelativeSlack * MiddleMiB, FixedSlackMiB);
    public bool Flat => LastMiB - MiddleMiB <= AllowedMiB;

    public static IReadOnlyList<MemoryTrend> Of(IReadOnlyList<MemorySample> samples)
    {
        var third = samples.Count / 3;
        if (third == 0)
        {
            return [];
        }
        return [.. samples[0].Bytes.Keys.Select(process => new MemoryTrend(process,
            MiB(samples[0].Bytes[process]),
            MiB(samples[^1].Bytes[process]),
            samples.Skip(third).Take(third).Average(s => MiB(s.Bytes[process])),
            samples.Skip(samples.Count - third).Average(s => MiB(s.Bytes[process]))))];
    }

    public static double MiB(long bytes) => bytes / (1024.0 * 1024);
}

/// <summary>Samples the memory of every service process and of Redis every <see cref="Interval"/> while the soak runs.</summary>
public sealed class MemorySampler(ChaosPipeline pipeline)
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(10);
    public const string Redis = "redis used_memory";

    private static readonly string[] Processes = [Services.Ingest, Services.Persister, Services.Ranker, Services.Gateway];

    private readonly List<MemorySample> _samples = [];

    /// <summary>Read them once <see cref="RunAsync"/> has finished.</summary>
    public IReadOnlyList<MemorySample> Samples => _samples;

    public async Task RunAsync(Func<bool> producing)
    {
        var clock = Stopwatch.StartNew();
        using var timer = new PeriodicTimer(Interval);
        do
        {
            var sample = await SampleAsync(clock.Elapsed.TotalMinutes);
            _samples.Add(sample);
            Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"[memory {sample.Minute,5:F1} min] {string.Join("  ", sample.Bytes.Select(b => $"{b.Key} {MemoryTrend.MiB(b.Value):F0} MiB"))}"));
        }
        while (producing() && await timer.WaitForNextTickAsync());
    }

    private async Task<MemorySample> SampleAsync(double minute)
    {
        var bytes = Processes.ToDictionary(p => p, p => pipeline[p].RssBytes());
        var info = (string?)await pipeline.Db.ExecuteAsync("INFO", "memory") ?? "";
        var used = info.Split('\n').First(l => l.StartsWith("used_memory:", StringComparison.Ordinal));
        bytes[Redis] = long.Parse(used["used_memory:".Length..].Trim(), CultureInfo.InvariantCulture);
        return new MemorySample(minute, bytes);
    }
}
