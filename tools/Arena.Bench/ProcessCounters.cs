using System.Globalization;
using Arena.Harness;

namespace Arena.Bench;

/// <summary>
/// A service's CPU time (from /proc), the bytes its managed code has allocated and the time its
/// JIT compiler has run (the runtime's <c>dotnet.gc.heap.total_allocated</c> and
/// <c>dotnet.jit.compilation.time</c>, from its /metrics), read before and after a measured run.
/// </summary>
internal readonly record struct ProcessCounters(TimeSpan Cpu, double AllocatedBytes, TimeSpan Jit)
{
    private const string AllocatedMetric = "dotnet_gc_heap_total_allocated_bytes_total";
    private const string JitMetric = "dotnet_jit_compilation_time_seconds_total";

    public static async Task<ProcessCounters> ReadAsync(ServiceProcess service)
    {
        var metrics = (await service.Http.GetStringAsync("/metrics")).Split('\n');
        return new ProcessCounters(service.CpuTime(), Value(AllocatedMetric), TimeSpan.FromSeconds(Value(JitMetric)));

        double Value(string metric)
        {
            var line = metrics.FirstOrDefault(l => l.StartsWith(metric, StringComparison.Ordinal))
                ?? throw new InvalidOperationException($"{service.Name} exports no {metric}");
            return double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
        }
    }

    public static ProcessCounters operator -(ProcessCounters after, ProcessCounters before) =>
        new(after.Cpu - before.Cpu, after.AllocatedBytes - before.AllocatedBytes, after.Jit - before.Jit);
}
