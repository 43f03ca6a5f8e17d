using System.ComponentModel.DataAnnotations;

namespace Arena.Ingest;

/// <summary>Ingest limits and publishing settings, bound from the <c>Ingest</c> section (<c>Ingest__*</c>).</summary>
public sealed class IngestOptions : IValidatableObject
{
    public const string Section = "Ingest";

    [Range(1024, 16 * 1024 * 1024)]
    public int MaxBodyBytes { get; set; } = 1024 * 1024;

    [Range(1, 100_000)]
    public int MaxEvents { get; set; } = 1000;

    [Range(256, 16 * 1024 * 1024)]
    public int MaxEventBytes { get; set; } = 64 * 1024;

    /// <summary>How long a producer-supplied <c>event_id</c> is remembered for deduplication.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "7.00:00:00")]
    public TimeSpan DedupeWindow { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>The hard cap on each partition's stream, held exactly; a last resort, not the retention policy: what it removes before the persister committed it is reported as overflow.</summary>
    [Range(1000, long.MaxValue)]
    public long MaxStreamLength { get; set; } = 1_000_000;

    /// <summary>
    /// The hard cap on each partition's stream in bytes (its entries' field names and values):
    /// with events of up to <see cref="MaxEventBytes"/>, a cap of entries alone bounds memory at
    /// 64 KiB × <see cref="MaxStreamLength"/>. Held like the cap of entries, overflow reported the same way.
    /// </summary>
    [Range(1024 * 1024, long.MaxValue)]
    public long MaxStreamBytes { get; set; } = 512L * 1024 * 1024;

    /// <summary>Requests validated and published at once, counted from the moment a body has arrived; more are answered 429 with <c>Retry-After</c> (backpressure).</summary>
    [Range(1, 100_000)]
    public int MaxConcurrentRequests { get; set; } = 256;

    /// <summary>
    /// Memory all request bodies held at once may take, from their first byte until their request
    /// is answered; a body that would go beyond it is answered 429 with <c>Retry-After</c>. Bodies
    /// take memory as their bytes arrive, so a slow one costs only what it has sent.
    /// </summary>
    [Range(1024, long.MaxValue)]
    public long MaxBufferedBodyBytes { get; set; } = 256L * 1024 * 1024;

    /// <summary>How long a client may take to send a request's headers (the server's request-headers timeout).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:05:00")]
    public TimeSpan HeadersTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The slowest a body may arrive, on average, once <see cref="BodyGracePeriod"/> has passed; slower is answered 408.</summary>
    [Range(1, int.MaxValue)]
    public int MinBodyBytesPerSecond { get; set; } = 4096;

    /// <summary>How long a body may arrive slower than <see cref="MinBodyBytesPerSecond"/>; the server checks rates once a second, so at least 2 s.</summary>
    [Range(typeof(TimeSpan), "00:00:02", "00:05:00")]
    public TimeSpan BodyGracePeriod { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>The longest a whole body may take to arrive, however steadily it comes; longer is answered 408.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:30:00")]
    public TimeSpan BodyTimeout { get; set; } = TimeSpan.FromSeconds(30);

    public const string Auto = "auto";

    /// <summary>
    /// Replicas that must hold an event before it is answered 202 (Redis <c>WAIT</c>): a number
    /// (0 = the master's word is enough), or "auto": 1 while any master has a replica, else 0.
    /// </summary>
    [Required, RegularExpression("^(auto|[0-9])$", ErrorMessage = "Ingest:WaitForReplicas must be 'auto' or a number of replicas from 0 to 9.")]
    public string WaitForReplicas { get; set; } = Auto;

    /// <summary>How long to wait for replicas to confirm a write; fewer confirmations in time answer 503.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:00:04")]
    public TimeSpan ReplicaTimeout { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Requests per second each producer (API key; remote address while ingest is open) may post, as a token bucket; 0 turns the limit off.</summary>
    [Range(0, 1_000_000)]
    public int RateLimitPerSecond { get; set; }

    /// <summary>Requests a producer may post at once after a quiet spell (the bucket's size); 0 means <see cref="RateLimitPerSecond"/>.</summary>
    [Range(0, 1_000_000)]
    public int RateLimitBurst { get; set; }

    /// <summary>How long a request may spend retrying Redis before it is answered 503.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:01:00")]
    public TimeSpan RedisBudget { get; set; } = TimeSpan.FromSeconds(2);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (MaxBufferedBodyBytes < MaxBodyBytes)
        {
            yield return new ValidationResult(
                $"Ingest:MaxBufferedBodyBytes ({MaxBufferedBodyBytes}) must be at least Ingest:MaxBodyBytes ({MaxBodyBytes}), or no body of the largest size could be read.",
                [nameof(MaxBufferedBodyBytes)]);
        }
    }
}
