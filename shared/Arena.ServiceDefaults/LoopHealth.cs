using System.Collections.Concurrent;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Arena.ServiceDefaults;

/// <summary>
/// Background loops report here; <c>/readyz</c> is unhealthy while any loop is stalled,
/// failing or has stopped, so a dead loop never hides behind a live HTTP endpoint.
/// </summary>
public sealed class LoopHealth : IHealthCheck
{
    private readonly ConcurrentDictionary<string, LoopState> _loops = new();
    private readonly TimeProvider _time;

    public LoopHealth(TimeProvider time) => _time = time;

    /// <summary>How long a loop may go without reporting before it counts as stalled.</summary>
    public TimeSpan StaleAfter { get; set; } = TimeSpan.FromSeconds(30);

    public void Healthy(string loop) => _loops[loop] = new LoopState(null, _time.GetUtcNow());

    public void Unhealthy(string loop, string reason) => _loops[loop] = new LoopState(reason, _time.GetUtcNow());

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var now = _time.GetUtcNow();
        var problems = new List<string>();
        foreach (var (name, state) in _loops)
        {
            if (state.Problem is not null)
            {
                problems.Add($"{name}: {state.Problem}");
            }
            else if (now - state.At > StaleAfter)
            {
                problems.Add($"{name}: no progress for {(now - state.At).TotalSeconds:F0}s");
            }
        }
        return Task.FromResult(problems.Count == 0
            ? HealthCheckResult.Healthy($"{_loops.Count} loop(s) running")
            : HealthCheckResult.Unhealthy(string.Join("; ", problems)));
    }

    private sealed record LoopState(string? Problem, DateTimeOffset At);
}
