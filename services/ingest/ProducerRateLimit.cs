using System.Globalization;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.RateLimiting;

namespace Arena.Ingest;

/// <summary>
/// A token bucket per producer (per API key, or per remote address while ingest is open),
/// run by ASP.NET Core's rate limiter as its global limiter before the request is read, so a
/// refused request writes nothing. An instance is the endpoint metadata that marks where it
/// applies; other endpoints pass untouched.
/// </summary>
public sealed class ProducerRateLimit
{
    /// <summary>The label of requests from an open ingest, whose partitions are addresses (never used as labels).</summary>
    public const string Anonymous = "anonymous";

    public static PartitionedRateLimiter<HttpContext> Create(IngestOptions options) =>
        PartitionedRateLimiter.Create<HttpContext, string>(http =>
        {
            if (options.RateLimitPerSecond == 0 || http.GetEndpoint()?.Metadata.GetMetadata<ProducerRateLimit>() is null
                || http.RequestServices.GetRequiredService<ApiKeys>().Identify(http) is not { } caller)
            {
                // Off, another endpoint, or a request the endpoint refuses with 401 anyway.
                return RateLimitPartition.GetNoLimiter("");
            }
            var partition = caller.Producer ?? "address:" + http.Connection.RemoteIpAddress;
            return RateLimitPartition.GetTokenBucketLimiter(partition, _ => new TokenBucketRateLimiterOptions
            {
                TokenLimit = options.RateLimitBurst > 0 ? options.RateLimitBurst : options.RateLimitPerSecond,
                TokensPerPeriod = options.RateLimitPerSecond,
                ReplenishmentPeriod = TimeSpan.FromSeconds(1),
                QueueLimit = 0,
                AutoReplenishment = true,
            });
        });

    /// <summary>The <c>Retry-After</c> of a request the bucket refused: the wait for its next token, at least a second.</summary>
    public static string RetryAfter(OnRejectedContext context) =>
        context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var wait)
            ? Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds)).ToString(CultureInfo.InvariantCulture)
            : "1";
}
