using Arena.Contracts;
using StackExchange.Redis;

namespace Arena.Messaging;

/// <summary>The result of one append: the entry's stream ID, and whether it was already there.</summary>
public readonly record struct Appended(string StreamId, bool Duplicate, long Lost);

/// <summary>
/// Appends entries to a partition's stream, a batch per Lua script call, touching only keys of
/// that partition's hash slot:
/// <list type="bullet">
/// <item>a producer-supplied event id is checked against the dedupe key of its (run, event id),
/// so a re-sent event returns its original stream ID and adds nothing;</item>
/// <item>the stream is held to its hard cap exactly; every entry the cap removes that the
/// bounding group (the persister) has not yet committed — never delivered to it, or still
/// pending — is recorded in the partition's overflow hash, to be reported as a
/// <c>stream_overflow</c> event; a call's whole loss is reported on its first new entry.</item>
/// </list>
/// </summary>
public static class StreamAppender
{
    // KEYS[1] stream, KEYS[2] overflow hash, KEYS[3..] dedupe keys.
    // ARGV[1] cap, ARGV[2] dedupe window ms, ARGV[3] bounding group, ARGV[4] entries; then per
    // entry: the index of its dedupe key in KEYS (0 for none), its field count n, n name/value pairs.
    // The dedupe keys are read with one MGET and the cap's bookkeeping runs once per call for the
    // whole excess: per new entry only its XADD and the SET of its dedupe key remain.
    private const string Script = LuaStreams.Prelude + """
        local cap, count = tonumber(ARGV[1]), tonumber(ARGV[4])
        local known = {}
        if #KEYS > 2 then
          local found = redis.call('MGET', unpack(KEYS, 3))
          for i = 1, #found do
            if found[i] then known[i + 2] = found[i] end
          end
        end
        -- Which entries are new: a dedupe key seen before, or earlier in this call, makes a duplicate.
        local entries, claimed, new, a = {}, {}, 0, 5
        for e = 1, count do
          local key, n = tonumber(ARGV[a]), tonumber(ARGV[a + 1])
          entries[e] = {key, a + 2, a + 1 + n * 2}
          a = a + 2 + n * 2
          if key == 0 or not (known[key] or claimed[key]) then
            new = new + 1
            if key > 0 then claimed[key] = true end
          end
        end
        -- The hard cap: what the new entries push out is trimmed first, and whatever of it the
        -- bounding group has not committed (never delivered, or still pending) counts as lost.
        local lost = 0
        local excess = redis.call('XLEN', KEYS[1]) + new - cap
        if excess > 0 then
          local victims = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', excess)
          if #victims > 0 then
            local group = groups_of(KEYS[1])[ARGV[3]]
            local delivered = group and group['last-delivered-id']
            local pending = {}
            if delivered then
              for _, p in ipairs(redis.call('XPENDING', KEYS[1], ARGV[3], victims[1][1], victims[#victims][1], #victims)) do
                pending[p[1]] = true
              end
            end
            local first, last
            for _, victim in ipairs(victims) do
              local id = victim[1]
              if not delivered or id_less(delivered, id) or pending[id] then
                first = first or id
                last = id
                lost = lost + 1
              end
            end
            if lost > 0 then
              redis.call('HSETNX', KEYS[2], 'first', first)
              redis.call('HSET', KEYS[2], 'last', last)
              redis.call('HINCRBY', KEYS[2], 'count', lost)
            end
          end
          redis.call('XTRIM', KEYS[1], 'MAXLEN', math.max(cap - new, 0))
        end
        -- The call's loss is reported on its first new entry; callers sum it.
        local results, added = {}, {}
        for e = 1, count do
          local key, first, last = entries[e][1], entries[e][2], entries[e][3]
          local existing = key > 0 and (known[key] or added[key])
          if existing then
            results[e] = {existing, 1, 0}
          else
            local id = redis.call('XADD', KEYS[1], '*', unpack(ARGV, first, last))
            if key > 0 then
              redis.call('SET', KEYS[key], id, 'PX', ARGV[2])
              added[key] = id
            end
            results[e] = {id, 0, lost}
            lost = 0
          end
        end
        return results
        """;

    /// <summary>One entry to append: its fields, its run, and the producer's event id when it must be deduplicated.</summary>
    public readonly record struct Entry(NameValueEntry[] Fields, string RunId, string? DedupeId);

    public static async Task<Appended> AppendAsync(IDatabaseAsync db, int partition, Entry entry,
        long cap, TimeSpan dedupeWindow, string boundingGroup) =>
        (await AppendAsync(db, partition, [entry], cap, dedupeWindow, boundingGroup))[0];

    /// <summary>
    /// Appends <paramref name="entries"/> in order in one script call (atomic: all or none);
    /// an entry whose (run, event id) repeats an earlier one, in this call or within the dedupe
    /// window, is answered with the earlier entry's stream ID.
    /// </summary>
    public static async Task<Appended[]> AppendAsync(IDatabaseAsync db, int partition, IReadOnlyList<Entry> entries,
        long cap, TimeSpan dedupeWindow, string boundingGroup)
    {
        var keys = new List<RedisKey> { StreamKeys.Events(partition), StreamKeys.Overflow(partition) };
        var keyIndex = new Dictionary<string, int>(StringComparer.Ordinal);
        var args = new List<RedisValue>(4 + entries.Count * 14) { cap, (long)dedupeWindow.TotalMilliseconds, boundingGroup, entries.Count };
        foreach (var entry in entries)
        {
            var key = 0;
            if (entry.DedupeId is { } id && StreamKeys.Dedupe(partition, entry.RunId, id) is var dedupeKey && !keyIndex.TryGetValue(dedupeKey, out key))
            {
                keys.Add(dedupeKey);
                key = keyIndex[dedupeKey] = keys.Count;
            }
            args.Add(key);
            args.Add(entry.Fields.Length);
            foreach (var field in entry.Fields)
            {
                args.Add(field.Name);
                args.Add(field.Value);
            }
        }
        var reply = (RedisResult[])(await db.ScriptEvaluateAsync(Script, [.. keys], [.. args]))!;
        return [.. reply.Select(r => (RedisResult[])r!).Select(r => new Appended(r[0].ToString(), (long)r[1] == 1, (long)r[2]))];
    }
}
