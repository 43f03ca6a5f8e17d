using System.Diagnostics.Metrics;
using Arena.ServiceDefaults;

namespace Arena.Ingest;

public sealed class IngestMetrics
{
    public const string MeterName = ArenaTelemetry.MeterPrefix + "Ingest";

    public IngestMetrics(IMeterFactory meters, BodyMemoryBudget bodies)
    {
        var meter = meters.Create(MeterName);
        meter.CreateObservableGauge("arena.ingest.bodies.buffered", () => bodies.Taken, "By",
            "Memory held by request bodies being received or handled, against Ingest:MaxBufferedBodyBytes");
        Accepted = meter.CreateCounter<long>("arena.ingest.events.accepted", "{event}", "Events accepted (202), duplicates included");
        Duplicates = meter.CreateCounter<long>("arena.ingest.events.duplicate", "{event}", "Re-sent events answered with their original stream ID");
        Rejected = meter.CreateCounter<long>("arena.ingest.requests.rejected", "{request}", "Requests rejected, by status code");
        Overflow = meter.CreateCounter<long>("arena.stream.overflow.lost", "{entry}", "Entries the hard caps removed before every group had committed them");
        RateLimited = meter.CreateCounter<long>("arena.ingest.requests.rate_limited", "{request}", "Requests refused by a producer's rate limit, by producer");
        RedisRetries = meter.CreateCounter<long>("arena.ingest.redis.retries", "{retry}", "Redis commands retried");
        PublishDuration = meter.CreateHistogram<double>("arena.ingest.publish.duration", "ms", "Time to write one request's events to Redis");
        // Exported from the start, so alerts on an increase have a series to watch.
        Overflow.Add(0);
        Duplicates.Add(0);
        RedisRetries.Add(0);
    }

    public Counter<long> Accepted { get; }
    public Counter<long> Duplicates { get; }
    public Counter<long> Rejected { get; }
    public Counter<long> RateLimited { get; }
    public Counter<long> Overflow { get; }
    public Counter<long> RedisRetries { get; }
    public Histogram<double> PublishDuration { get; }
}
