using System.Globalization;
using Arena.Contracts;
using StackExchange.Redis;

namespace Arena.Messaging;

/// <summary>
/// Moves an entry to <c>arena:dlq</c> and acknowledges it in one Lua script, so an entry is
/// never both lost and unacknowledged. (On Redis Cluster the two keys sit in different slots;
/// see the README's scale-out notes.)
/// </summary>
public static class DeadLetters
{
    public const string OriginalStream = "original_stream";
    public const string OriginalId = "original_id";
    public const string Group = "group";
    public const string Deliveries = "deliveries";
    public const string Error = "error";
    public const string FailedAt = "failed_at";

    // KEYS[1] DLQ, KEYS[2] stream; ARGV[1] group, ARGV[2] id, ARGV[3..] the DLQ entry's fields.
    private const string AddAndAck = """
        local id = redis.call('XADD', KEYS[1], '*', unpack(ARGV, 3))
        redis.call('XACK', KEYS[2], ARGV[1], ARGV[2])
        return id
        """;

    public static Task AddAsync(IDatabase db, string group, StreamMessage message, string error, DateTimeOffset now) =>
        AddAsync(db, group, message.Stream, message.Entry, message.Deliveries, error, now);

    public static async Task AddAsync(IDatabase db, string group, string stream, StreamEntry entry, long deliveries, string error, DateTimeOffset now)
    {
        var args = new List<RedisValue>(entry.Values.Length * 2 + 14) { group, entry.Id };
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
        await db.ScriptEvaluateAsync(AddAndAck, [StreamKeys.DeadLetters, stream], [.. args]);
    }
}
