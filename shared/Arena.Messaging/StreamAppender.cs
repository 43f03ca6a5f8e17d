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
/// <item>the stream is held to its hard caps exactly: a number of entries, and a number of bytes
/// (the sum of its entries' field names and values, kept in the partition's size key; the
/// trimmer sets it from Redis's own measure after each trim, and an empty stream counts 0).
/// Every entry a cap removes that a group has not yet committed — never delivered to it, or
/// still pending — is recorded in the partition's overflow hash under that group (the
/// persister counts even before its group exists), to be reported as a <c>stream_overflow</c>
/// event; a call's whole loss is reported on its first new entry.</item>
/// </list>
/// </summary>
public static class StreamAppender
{
    // KEYS[1] stream, KEYS[2] overflow hash, KEYS[3] size key, KEYS[4..] dedupe keys.
    // ARGV[1] cap in entries, ARGV[2] cap in bytes, ARGV[3] dedupe window ms, ARGV[4] the group that
    // counts even before it exists, ARGV[5] entries; then per entry: the index of its dedupe key in
    // KEYS (0 for none), its size in bytes, its field count n, n name/value pairs.
    // The dedupe keys are read with one MGET and the caps' bookkeeping runs once per call for the
    // whole excess: per new entry only its XADD and the SET of its dedupe key remain.
    private const string Script = LuaStreams.Prelude + """
        local cap, cap_bytes, count = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[5])
        local known = {}
        if #KEYS > 3 then
          local found = redis.call('MGET', unpack(KEYS, 4))
          for i = 1, #found do
            if found[i] then known[i + 3] = found[i] end
          end
        end
        -- Which entries are new: a dedupe key seen before, or earlier in this call, makes a duplicate.
        local entries, claimed, new, new_bytes, a = {}, {}, 0, 0, 6
        for e = 1, count do
          local key, n = tonumber(ARGV[a]), tonumber(ARGV[a + 2])
          entries[e] = {key, a + 3, a + 2 + n * 2}
          if key == 0 or not (known[key] or claimed[key]) then
            new = new + 1
            new_bytes = new_bytes + tonumber(ARGV[a + 1])
            if key > 0 then claimed[key] = true end
          end
          a = a + 3 + n * 2
        end
        -- The hard caps: the oldest entries go first, as many as the new ones push over either cap.
        local length, counted = redis.call('XLEN', KEYS[1]), tonumber(redis.call('GET', KEYS[3]) or '0')
        -- An empty (or deleted) stream holds nothing, whatever its count says.
        local size = length == 0 and 0 or counted
        local excess, excess_bytes = length + new - cap, size + new_bytes - cap_bytes
        local lost, freed = 0, 0
        if excess > 0 or excess_bytes > 0 then
          local victims, from = {}, '-'
          while #victims < excess or freed < excess_bytes do
            -- Entries are read a few more than the average entry size says the bytes need.
            local want = excess - #victims
            if freed < excess_bytes then
              want = math.max(want, math.ceil((excess_bytes - freed) * length / math.max(size, 1)) + 2)
            end
            local batch = redis.call('XRANGE', KEYS[1], from, '+', 'COUNT', want)
            for _, victim in ipairs(batch) do
              if #victims >= excess and freed >= excess_bytes then break end
              victims[#victims + 1] = victim[1]
              for _, field in ipairs(victim[2]) do freed = freed + #field end
            end
            if #batch < want then break end
            from = '(' .. batch[#batch][1]
          end
          if #victims > 0 then
            -- Per group, whatever of the victims it has not committed (never delivered, or pending) is its loss.
            local groups = groups_of(KEYS[1])
            if not groups[ARGV[4]] then groups[ARGV[4]] = {} end
            local lost_to_any = {}
            for name, fields in pairs(groups) do
              local delivered = fields['last-delivered-id']
              local pending = {}
              if delivered then
                for _, p in ipairs(redis.call('XPENDING', KEYS[1], name, victims[1], victims[#victims], #victims)) do
                  pending[p[1]] = true
                end
              end
              local first, last, n = nil, nil, 0
              for _, id in ipairs(victims) do
                if not delivered or id_less(delivered, id) or pending[id] then
                  first = first or id
                  last = id
                  n = n + 1
                  lost_to_any[id] = true
                end
              end
              if n > 0 then
                -- The persister's range keeps the plain field names; another group's are prefixed with its name.
                local prefix = name == ARGV[4] and '' or name .. ':'
                redis.call('HSETNX', KEYS[2], prefix .. 'first', first)
                redis.call('HSET', KEYS[2], prefix .. 'last', last)
                redis.call('HINCRBY', KEYS[2], prefix .. 'count', n)
              end
            end
            for _ in pairs(lost_to_any) do lost = lost + 1 end
            local ms, seq = parse_id(victims[#victims])
            redis.call('XTRIM', KEYS[1], 'MINID', string.format('%.0f-%.0f', ms, seq + 1))
          end
          size = #victims < length and math.max(size - freed, 0) or 0
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
              redis.call('SET', KEYS[key], id, 'PX', ARGV[3])
              added[key] = id
            end
            results[e] = {id, 0, lost}
            lost = 0
          end
        end
        if size + new_bytes ~= counted then redis.call('SET', KEYS[3], string.format('%.0f', size + new_bytes)) end
        return results
        """;

    /// <summary>One entry to append: its fields, its run, and the producer's event id when it must be deduplicated.</summary>
    public readonly record struct Entry(NameValueEntry[] Fields, string RunId, string? DedupeId);

    /// <summary>The caps an append holds the stream to: entries and bytes (field names and values).</summary>
    public readonly record struct Caps(long Entries, long Bytes)
    {
        public static readonly Caps None = new(long.MaxValue, long.MaxValue);
    }

    public static async Task<Appended> AppendAsync(IDatabaseAsync db, int partition, Entry entry,
        Caps caps, TimeSpan dedupeWindow, string boundingGroup) =>
        (await AppendAsync(db, partition, [entry], caps, dedupeWindow, boundingGroup))[0];

    /// <summary>
    /// Appends <paramref name="entries"/> in order in one script call (atomic: all or none);
    /// an entry whose (run, event id) repeats an earlier one, in this call or within the dedupe
    /// window, is answered with the earlier entry's stream ID.
    /// </summary>
    /// <param name="boundingGroup">The group whose loss counts even before the group exists (the persister).</param>
    public static async Task<Appended[]> AppendAsync(IDatabaseAsync db, int partition, IReadOnlyList<Entry> entries,
        Caps caps, TimeSpan dedupeWindow, string boundingGroup)
    {
        var keys = new List<RedisKey> { StreamKeys.Events(partition), StreamKeys.Overflow(partition), StreamKeys.Size(partition) };
        var keyIndex = new Dictionary<string, int>(StringComparer.Ordinal);
        var args = new List<RedisValue>(5 + entries.Count * 15) { caps.Entries, caps.Bytes, (long)dedupeWindow.TotalMilliseconds, boundingGroup, entries.Count };
        foreach (var entry in entries)
        {
            var key = 0;
            if (entry.DedupeId is { } id && StreamKeys.Dedupe(partition, entry.RunId, id) is var dedupeKey && !keyIndex.TryGetValue(dedupeKey, out key))
            {
                keys.Add(dedupeKey);
                key = keyIndex[dedupeKey] = keys.Count;
            }
            args.Add(key);
            args.Add(Size(entry.Fields));
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

    /// <summary>An entry's size as the byte cap counts it: its field names and values, in bytes.</summary>
    public static long Size(NameValueEntry[] fields)
    {
        var size = 0L;
        foreach (var field in fields)
        {
            size += field.Name.GetByteCount() + field.Value.GetByteCount();
        }
        return size;
    }
}
