using Arena.Contracts;
using StackExchange.Redis;

namespace Arena.Messaging;

/// <summary>
/// How far a group has committed one partition's stream, from Redis's own group state, so it
/// holds over every consumer of the group: a consumer acknowledges an entry only once its side
/// effect is durable (or the entry is dead-lettered), and entries are delivered in ID order, so
/// everything before the group's oldest pending entry is committed — or everything up to its
/// last delivered entry when nothing is pending.
/// </summary>
/// <param name="Through">Every entry with an ID at or below it is committed; null when the stream or the group does not exist.</param>
/// <param name="Pending">Entries delivered to the group and not yet acknowledged.</param>
/// <param name="OldestPending">The oldest of them, or null when nothing is pending.</param>
public readonly record struct CommittedMark(StreamId? Through, long Pending, StreamId? OldestPending)
{
    // KEYS[1] stream, ARGV[1] group. {} when either is missing, else {first uncommitted ID, pending count}.
    // One script, so the last delivered ID and the pending summary are read at one instant.
    private const string Script = LuaStreams.Prelude + LuaStreams.Commits + """
        if redis.call('EXISTS', KEYS[1]) == 0 then return {} end
        local group = groups_of(KEYS[1])[ARGV[1]]
        if group == nil then return {} end
        local first, pending = uncommitted_from(KEYS[1], ARGV[1], group)
        return {first, pending}
        """;

    /// <summary>Reads the mark of <paramref name="group"/> on partition <paramref name="partition"/>: one script, O(1) in the stream's length.</summary>
    public static async Task<CommittedMark> ReadAsync(IDatabaseAsync db, int partition, string group)
    {
        var reply = (RedisResult[])(await db.ScriptEvaluateAsync(Script, [StreamKeys.Events(partition)], [group]))!;
        if (reply.Length == 0)
        {
            return default;
        }
        var first = StreamId.Parse(reply[0].ToString());
        var pending = (long)reply[1];
        return new CommittedMark(first.Previous(), pending, pending == 0 ? null : first);
    }
}
