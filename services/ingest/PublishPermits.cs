using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;

namespace Arena.Ingest;

/// <summary>
/// Backpressure: at most <see cref="IngestOptions.MaxConcurrentRequests"/> requests validated
/// and published at once, more answered 429 at once (no queue). A request asks for its permit
/// once its body has arrived, so a client sending slowly holds only the memory of what it sent
/// (<see cref="BodyMemoryBudget"/>), never a permit a fast client needs.
/// </summary>
public sealed class PublishPermits(IOptions<IngestOptions> options) : IDisposable
{
    private readonly ConcurrencyLimiter _limiter = new(new ConcurrencyLimiterOptions
    {
        PermitLimit = options.Value.MaxConcurrentRequests,
        QueueLimit = 0,
    });

    /// <summary>A lease to dispose when the request is answered; not acquired when every permit is held.</summary>
    public RateLimitLease TryTake() => _limiter.AttemptAcquire();

    public void Dispose() => _limiter.Dispose();
}
