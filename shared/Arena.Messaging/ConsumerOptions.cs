using System.ComponentModel.DataAnnotations;

namespace Arena.Messaging;

/// <summary>A consumer group member's settings, bound from the service's section (e.g. <c>Persister__*</c>).</summary>
public sealed class ConsumerOptions
{
    /// <summary>The consumer group; one per service.</summary>
    [Required, RegularExpression("^[a-z][a-z0-9_-]{0,63}$")]
    public string Group { get; set; } = "";

    /// <summary>This instance's name in the group; unique per instance (default: host and process id).</summary>
    [Required, RegularExpression("^[A-Za-z0-9._:-]{1,128}$")]
    public string ConsumerName { get; set; } = "";

    /// <summary>Entries read and handled at a time.</summary>
    [Range(1, 10_000)]
    public int BatchSize { get; set; } = 1000;

    /// <summary>
    /// The most entries a batch grows to while a backlog lasts (new entries, or the consumer's own
    /// pending ones after a restart): each read that comes back full asks for twice as many the
    /// next time, up to this, while such a read would hold at most 16 MiB at the entries' size; the
    /// first read that is not full goes back to <see cref="BatchSize"/>. 0 (or anything not above
    /// BatchSize): batches stay at BatchSize.
    /// </summary>
    [Range(0, 10_000)]
    public int MaxBatchSize { get; set; }

    /// <summary>
    /// After a round of reads over the partitions that found new entries but filled no batch, how
    /// long from that round's start the next one waits, so that a steady flow is handled in fewer,
    /// larger batches (each batch has a fixed cost, such as a store's transaction) at the price of
    /// up to this much latency, however many partitions. The first entries after a quiet spell are
    /// read at once. Zero: read again at once.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:00:05")]
    public TimeSpan Linger { get; set; }

    /// <summary>
    /// The <see cref="Linger"/> of the persister and the ranker while their section sets none.
    /// Each batch has a cost besides its entries: a read and an acknowledgement, and for the
    /// persister a DuckDB transaction of about 5 ms of CPU. At 10,000 events/s, batches gathered
    /// over 100 ms (~1,000 entries) instead of each wake-up's take the persister about half the
    /// CPU per row (15 against 27 µs) and the ranker half the CPU per event (9–10 against
    /// 17–20 µs; docs/benchmarks.md).
    /// </summary>
    public static readonly TimeSpan ServiceLinger = TimeSpan.FromMilliseconds(100);

    /// <summary>How long an idle reader waits for a wake-up before it polls anyway.</summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "00:00:10")]
    public TimeSpan IdlePoll { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>How often to look for entries other consumers (or failed attempts) left pending.</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "01:00:00")]
    public TimeSpan ClaimInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How long an entry must sit unacknowledged before XAUTOCLAIM takes it over.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "1.00:00:00")]
    public TimeSpan ClaimMinIdle { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Deliveries after which a failing entry is dead-lettered.</summary>
    [Range(1, 1000)]
    public int MaxDeliveries { get; set; } = 5;

    /// <summary>
    /// Dead letters each partition's DLQ keeps (entries of up to 64 KiB: 10,000 is at most ~640 MiB);
    /// beyond it the oldest are dropped and counted (<c>arena_dlq_dropped_total</c>).
    /// </summary>
    [Range(100, 10_000_000)]
    public long MaxDeadLetters { get; set; } = DeadLetters.DefaultCap;

    /// <summary>A consumer idle this long with nothing pending is removed from the group.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "30.00:00:00")]
    public TimeSpan DeadConsumerIdle { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Longest pause between attempts while Redis or the store is failing.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:10:00")]
    public TimeSpan MaxBackoff { get; set; } = TimeSpan.FromSeconds(5);

    public static string DefaultConsumerName(string group) =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{group}-{Environment.MachineName}-{Environment.ProcessId}");
}
