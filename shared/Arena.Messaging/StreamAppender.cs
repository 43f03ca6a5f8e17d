using Arena.Contracts;
using StackExchange.Redis;

namespace Arena.Messaging;

/// <summary>The result of one append: the entry's stream ID, and whether it was already there.</summary>
public readonly record struct Appended(string StreamId, bool Duplicate, long Lost);

/// <summary>
/// Appends entries to a partition's stream in one Lua script per entry, touching only keys of
/// that partition's hash slot:
/// <list type="bullet">
/// <item>a producer-supplied event id is checked against its dedupe key, so a re-sent event
/// returns its original stream ID and adds nothing;</item>
/// <item>the stream is held to its hard cap exactly; every entry the cap removes that the
/// bounding group (the persister) has not yet committed — never delivered to it, or still
/// pending — is recorded in the partition's overflow hash, to be reported as a
/// <c>stream_overflow</c> event.</item>
/// </list>
/// </summary>
public static class StreamAppender
{
    // KEYS[1] stream, KEYS[2] overflow hash, KEYS[3] dedupe key (optional).
    // ARGV[1] cap, ARGV[2] dedupe window ms, ARGV[3] bounding group, ARGV[4..] field/value pairs.
    private const string Script = LuaStreams.Prelude + """
        if #KEYS == 3 then
          local existing = redis.call('GET', KEYS[3])
          if existing then return {existing, 1, 0} end
        end
        local lost = 0
        local excess = redis.call('XLEN', KEYS[1]) + 1 - tonumber(ARGV[1])
        if excess > 0 then
          local group = groups_of(KEYS[1])[ARGV[3]]
          local delivered = group and group['last-delivered-id']
          for _, victim in ipairs(redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', excess)) do
            local id = victim[1]
            if not delivered or id_less(delivered, id)
               or #redis.call('XPENDING', KEYS[1], ARGV[3], id, id, 1) > 0 then
              redis.call('HSETNX', KEYS[2], 'first', id)
              redis.call('HSET', KEYS[2], 'last', id)
              redis.call('HINCRBY', KEYS[2], 'count', 1)
              lost = lost + 1
            end
          end
          redis.call('XTRIM', KEYS[1], 'MAXLEN', tonumber(ARGV[1]) - 1)
        end
        local id = redis.call('XADD', KEYS[1], '*', unpack(ARGV, 4))
        if #KEYS == 3 then redis.call('SET', KEYS[3], id, 'PX', ARGV[2]) end
        return {id, 0, lost}
        """;

    /// <param name="dedupeId">The producer's event id, or null when the entry needs no deduplication.</param>
    public static async Task<Appended> AppendAsync(IDatabaseAsync db, int partition, NameValueEntry[] fields, string? dedupeId,
        long cap, TimeSpan dedupeWindow, string boundingGroup)
    {
        var args = new RedisValue[3 + fields.Length * 2];
        args[0] = cap;
        args[1] = (long)dedupeWindow.TotalMilliseconds;
        args[2] = boundingGroup;
        for (var i = 0; i < fields.Length; i++)
        {
            args[3 + i * 2] = fields[i].Name;
            args[4 + i * 2] = fields[i].Value;
        }
        RedisKey[] keys = dedupeId is null
            ? [StreamKeys.Events(partition), StreamKeys.Overflow(partition)]
            : [StreamKeys.Events(partition), StreamKeys.Overflow(partition), StreamKeys.Dedupe(partition, dedupeId)];
        var reply = (RedisResult[])(await db.ScriptEvaluateAsync(Script, keys, args))!;
        return new Appended(reply[0].ToString(), (long)reply[1] == 1, (long)reply[2]);
    }
}
