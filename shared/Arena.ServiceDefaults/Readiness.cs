using System.Diagnostics.Metrics;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Arena.ServiceDefaults;

/// <summary>
/// Publishes the outcome of the <c>/readyz</c> checks as the gauge <c>arena.ready</c>
/// (1 ready, 0 not), refreshed every few seconds, so alerts see a service that answers
/// HTTP but cannot do its work.
/// </summary>
public sealed class Readiness : IHealthCheckPublisher
{
    private int _ready;

    public Readiness(IMeterFactory meters) =>
        meters.Create(ArenaTelemetry.MeterPrefix + "Health")
            .CreateObservableGauge("arena.ready", () => Volatile.Read(ref _ready), "{ready}", "1 when every readiness check passes, else 0");

    public Task PublishAsync(HealthReport report, CancellationToken cancellationToken)
    {
        Volatile.Write(ref _ready, report.Status == HealthStatus.Healthy ? 1 : 0);
        return Task.CompletedTask;
    }
}
