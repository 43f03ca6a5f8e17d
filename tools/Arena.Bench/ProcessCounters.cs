using System.Globalization;
using Arena.Harness;

namespace Arena.Bench;

/// <summary>
/// A service's CPU time (from /proc) and the bytes its managed code has allocated (the runtime's
/// <c>dotnet.gc.heap.total_allocated</c>, from its /metrics), read before and after a measured run.
/// </summary>
internal readonly record struct ProcessCounters(TimeSpan Cpu, double AllocatedBytes)
{
    private const string AllocatedMetric = "dotnet_gc_heap_total_allocated_bytes_total";

    public static async Task<ProcessCounters> ReadAsync(ServiceProcess service)
    {
        var metrics = await service.Http.GetStringAsync("/metrics");
        var line = metrics.Split('\n').FirstOrDefault(l => l.StartsWith(AllocatedMetric, StringComparison.Ordinal))
            ?? throw new InvalidOperationException($"{service.Name} exports no {AllocatedMetric}");
        var allocated = double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
        return new ProcessCounters(service.CpuTime(), allocated);
    }

    public static ProcessCounters operator -(ProcessCounters after, ProcessCounters before) =>
        new(after.Cpu - before.Cpu, after.AllocatedBytes - before.AllocatedBytes);
}
