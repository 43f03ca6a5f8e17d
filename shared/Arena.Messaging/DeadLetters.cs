using System.Globalization;
using Arena.Contracts;
using StackExchange.Redis;

namespace Arena.Messaging;

/// <summary>
/// Moves an entry to its partition's DLQ (<c>arena:{p}:dlq</c>) and acknowledges it in one Lua
/// script, so an entry is never both lost and unacknowledged; both keys share the partition's
/// hash slot, so this holds on Redis Cluster too.
/// </summary>
public static class DeadLetters
{
    public const string OriginalStream = "original_stream";
    public const string OriginalId = "original_id";
    public const string Group = "group";
    public const string Deliveries = "deliveries";
    public const string Error = "error";
    public const string FailedAt = "failed_at";

    /// <summary>
    /// Set on an entry replayed from the DLQ: only this group handles it; every other group
    /// acknowledges it unhandled, having handled the original already.
    /// </summary>
    public const string ReplayFor = "replay_for";

    private static readonly HashSet<string> Metadata = [OriginalStream, OriginalId, Group, Deliveries, Error, FailedAt, ReplayFor];

    // KEYS[1] DLQ, KEYS[2] original stream; ARGV[1] DLQ entry id, ARGV[2..] the entry to re-add.
    private const string ReplayScript = """
        if redis.call('XDEL', KEYS[1], ARGV[1]) == 0 then return false end
        return redis.call('XADD', KEYS[2], '*', unpack(ARGV, 2))
        """;

    /// <summary>Dead letters a partition's DLQ keeps by default; the oldest go first beyond it.</summary>
    public const long DefaultCap = 10_000;

    // KEYS[1] DLQ, KEYS[2] stream, KEYS[3] the DLQ's dropped count; ARGV[1] group, ARGV[2] id, ARGV[3] the
    // DLQ's cap, ARGV[4..] the DLQ entry's fields. Only an entry still pending in the group is added: a
    // batch handled again after a failure (or a call whose reply was lost with the connection) finds it
    // acknowledged and adds nothing. Beyond the cap the oldest dead letters go, counted.
    private const string AddAndAck = """
        if redis.call('XACK', KEYS[2], ARGV[1], ARGV[2]) == 0 then return false end
        local id = redis.call('XADD', KEYS[1], '*', unpack(ARGV, 4))
        local dropped = redis.call('XLEN', KEYS[1]) - tonumber(ARGV[3])
        if dropped > 0 then
          redis.call('XTRIM', KEYS[1], 'MAXLEN', ARGV[3])
          redis.call('INCRBY', KEYS[3], dropped)
        end
        return id
        """;

    /// <summary>Moves the entry to the DLQ and acknowledges it; false when the group had acknowledged it already (nothing added).</summary>
    public static Task<bool> AddAsync(IDatabase db, string group, StreamMessage message, string error, DateTimeOffset now, long cap) =>
        AddAsync(db, group, message.Stream, message.Entry, message.Deliveries, error, now, cap);

    /// <param name="cap">Dead letters the DLQ keeps: the oldest beyond it are dropped and counted in <see cref="DroppedOf"/>.</param>
    public static async Task<bool> AddAsync(IDatabase db, string group, string stream, StreamEntry entry, long deliveries, string error, DateTimeOffset now,
        long cap = DefaultCap)
    {
        var args = new List<RedisValue>(entry.Values.Length * 2 + 15) { group, entry.Id, cap };
        foreach (var field in entry.Values)
        {
            args.Add(field.Name);
            args.Add(field.Value);
        }
        args.AddRange([
            OriginalStream, stream,
            OriginalId, entry.Id,
            Group, group,
            Deliveries, deliveries,
            Error, error,
            FailedAt, now.ToString("O", CultureInfo.InvariantCulture),
        ]);
        var dlq = DlqOf(stream);
        return !(await db.ScriptEvaluateAsync(AddAndAck, [dlq, stream, dlq + Dropped], [.. args])).IsNull;
    }

    /// <summary>
    /// Puts a dead letter back on its stream, for the group that failed it only, and removes
    /// it from the DLQ, in one script: replaying the same entry twice finds nothing the second
    /// time. Returns the new stream ID, or null when the DLQ no longer holds the entry.
    /// </summary>
    public static async Task<string?> ReplayAsync(IDatabase db, StreamEntry dead)
    {
        var args = new List<RedisValue> { dead.Id };
        foreach (var field in dead.Values.Where(f => !Metadata.Contains(f.Name.ToString())))
        {
            args.Add(field.Name);
            args.Add(field.Value);
        }
        args.Add(ReplayFor);
        args.Add(dead[Group]);
        var stream = dead[OriginalStream].ToString();
        var result = await db.ScriptEvaluateAsync(ReplayScript, [DlqOf(stream), stream], [.. args]);
        return result.IsNull ? null : result.ToString();
    }

    private const string Dropped = ":dropped";

    /// <summary>How many dead letters a partition's DLQ dropped at its cap (a counter key beside the DLQ, same slot).</summary>
    public static string DroppedOf(int partition) => StreamKeys.DeadLetters(partition) + Dropped;

    /// <summary>The DLQ beside a partition's stream.</summary>
    public static string DlqOf(string stream) =>
        StreamKeys.PartitionOf(stream) is >= 0 and var partition
            ? StreamKeys.DeadLetters(partition)
            : throw new ArgumentException($"'{stream}' is not a partition's stream", nameof(stream));
}
