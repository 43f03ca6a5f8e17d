using System.Globalization;
using System.Text;
using Arena.Contracts;
using StackExchange.Redis;

namespace Arena.Messaging;

/// <summary>The result of one append: the entry's stream ID, and whether it was already there.</summary>
public readonly record struct Appended(string StreamId, bool Duplicate, long Lost);

/// <summary>
/// Appends entries to a partition's stream, a batch per Lua script call, touching only keys of
/// that partition's hash slot:
/// <list type="bullet">
/// <item>a producer-supplied event id is looked up, as the field <c>&lt;run_id&gt;/&lt;event_id&gt;</c>,
/// in the partition's dedupe hashes of the current time bucket and its neighbours (one
/// <c>HMGET</c> per call for each that exists), so a re-sent event returns its original stream ID and adds
/// nothing; a call's new ids go into the current bucket's hash with one <c>HSET</c>. A bucket is
/// as wide as the window and its hash expires when the next bucket ends, so an id is remembered
/// for between one and two windows (<see cref="StreamKeys.DedupeBucket"/>);</item>
/// <item>the stream is held to its hard caps exactly: a number of entries, and a number of bytes
/// (the sum of its entries' field names and values, kept in the partition's size key; the
/// trimmer sets it from Redis's own measure after each trim, and an empty stream counts 0).
/// Every entry a cap removes that a group has not yet committed — never delivered to it, or
/// still pending — is recorded in the partition's overflow hash under that group (the
/// persister counts even before its group exists), to be reported as a <c>stream_overflow</c>
/// event; a call's whole loss is reported on its first new entry. When only the cap of entries
/// removes entries and Redis knows every group's lag, only the first and the last of them are
/// read: what each group lost follows from its lag and its pending entries, and their bytes
/// are counted at those two's mean (the trimmer measures the stream again after its next trim).</item>
/// </list>
/// Every entry has the fields <c>event_id</c>, <c>run_id</c>, <c>type</c>, <c>envelope</c>, then
/// the call's shared ones (<see cref="Shared"/>): their names, and the shared values, are sent
/// once per call.
/// </summary>
public static class StreamAppender
{
    // KEYS[1] stream, KEYS[2] overflow hash, KEYS[3] size key; when an entry is deduplicated,
    // KEYS[4..6] the dedupe hashes of the previous, current and next time bucket.
    // ARGV[1] cap in entries, ARGV[2] cap in bytes, ARGV[3] the current bucket's time to live in ms,
    // ARGV[4] the group that counts even before it exists, ARGV[5] entries, ARGV[6] shared fields s,
    // ARGV[7] a '1' (deduplicated) or '0' per entry, ARGV[8] the bytes every entry has besides its own
    // four values (field names, the shared values), then s name/value pairs; then per entry: event_id,
    // run_id, type, envelope.
    // Per new entry only its XADD remains: the lookups, the dedupe writes and the caps' bookkeeping
    // run once per call, and an entry is no table of its own (its arguments are found by position).
    private const string Script = LuaStreams.Prelude + """
        -- A group's loss to a cap goes into the overflow hash: the persister's under the plain field
        -- names, another group's prefixed with its name.
        local function record(name, first, last, n)
          local prefix = name == ARGV[4] and '' or name .. ':'
          redis.call('HSETNX', KEYS[2], prefix .. 'first', first)
          redis.call('HSET', KEYS[2], prefix .. 'last', last)
          redis.call('HINCRBY', KEYS[2], prefix .. 'count', n)
        end
        -- Whether Redis counts, for every group that exists, how many entries it was never delivered.
        -- It cannot after an XDEL inside the stream, or for a group set to an id it never delivered.
        local function lags_known(groups)
          for _, fields in pairs(groups) do
            if fields['last-delivered-id'] and not fields['lag'] then return false end
          end
          return true
        end
        local function bytes_of(entry)
          local n = 0
          for _, field in ipairs(entry[2]) do n = n + #field end
          return n
        end
        -- Removes the oldest `cut` entries, reading only the first and the last of them, and returns how
        -- many of them some group had not committed, recording each group's loss, and their bytes as
        -- those two's mean says. A group was never delivered the newest of its lag's entries (all of
        -- them when it does not exist), and holds pending what XPENDING says.
        local function cut_oldest(cut, length, groups)
          local first_victim = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)[1]
          local oldest = first_victim[1]
          local kept, never = length - cut, {}
          for name, fields in pairs(groups) do
            local delivered = fields['last-delivered-id']
            local undelivered = delivered and math.min(tonumber(fields['lag']), length) or length
            if undelivered > kept then
              local from = undelivered == length and oldest
                or redis.call('XRANGE', KEYS[1], '(' .. delivered, '+', 'COUNT', 1)[1][1]
              never[name] = {undelivered - kept, from}
            end
          end
          -- The newest victim is the oldest entry once all but one of the victims are gone.
          redis.call('XTRIM', KEYS[1], 'MAXLEN', kept + 1)
          local last_victim = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)[1]
          local newest = last_victim[1]
          redis.call('XTRIM', KEYS[1], 'MAXLEN', kept)
          local widest, pending_victims = nil, {}
          for name, fields in pairs(groups) do
            local lost = never[name]
            if lost and (not widest or lost[1] > widest[1]) then widest = lost end
            local held = {}
            if fields['last-delivered-id'] and tonumber(fields['pending']) > 0 then
              for _, p in ipairs(redis.call('XPENDING', KEYS[1], name, oldest, newest, cut)) do
                if not lost or id_less(p[1], lost[2]) then
                  held[#held + 1] = p[1]
                  pending_victims[p[1]] = true
                end
              end
            end
            local n = #held + (lost and lost[1] or 0)
            if n > 0 then record(name, held[1] or lost[2], lost and newest or held[#held], n) end
          end
          local total = widest and widest[1] or 0
          for id in pairs(pending_victims) do
            if not widest or id_less(id, widest[2]) then total = total + 1 end
          end
          return total, math.floor(cut * (bytes_of(first_victim) + bytes_of(last_victim)) / 2)
        end
        -- Removes the oldest entries, as many as either cap needs, reading them to count their bytes;
        -- returns how many, their bytes, and how many of them some group had not committed (never
        -- delivered, or pending), recording each group's loss.
        local function cut_reading(excess, excess_bytes, length, size, groups)
          local victims, from, freed = {}, '-', 0
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
              freed = freed + bytes_of(victim)
            end
            if #batch < want then break end
            from = '(' .. batch[#batch][1]
          end
          if #victims == 0 then return 0, freed, 0 end
          local lost_to_any, lost = {}, 0
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
            if n > 0 then record(name, first, last, n) end
          end
          for _ in pairs(lost_to_any) do lost = lost + 1 end
          local ms, seq = parse_id(victims[#victims])
          redis.call('XTRIM', KEYS[1], 'MINID', string.format('%.0f-%.0f', ms, seq + 1))
          return #victims, freed, lost
        end
        local cap, cap_bytes, count, shared = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[5]), tonumber(ARGV[6])
        local flags, fixed, first = ARGV[7], tonumber(ARGV[8]), 9 + shared * 2
        -- Which entries are new: an id remembered in a bucket, or earlier in this call, makes a duplicate.
        local field_of, wanted = {}, {}
        for e = 1, count do
          local field = false
          if string.byte(flags, e) == 49 then
            local a = first + (e - 1) * 4
            field = ARGV[a + 1] .. '/' .. ARGV[a]
            wanted[#wanted + 1] = field
          end
          field_of[e] = field
        end
        -- A bucket's hash that does not exist (the next one, as a rule) is not asked for every id.
        local known = {}
        if #wanted > 0 then
          for k = 4, 6 do
            if redis.call('EXISTS', KEYS[k]) == 1 then
              local found = redis.call('HMGET', KEYS[k], unpack(wanted))
              for i = 1, #wanted do
                if found[i] then known[wanted[i]] = found[i] end
              end
            end
          end
        end
        local claimed, new, new_bytes = {}, 0, 0
        for e = 1, count do
          local field = field_of[e]
          if not field or not (known[field] or claimed[field]) then
            local a = first + (e - 1) * 4
            new = new + 1
            new_bytes = new_bytes + fixed + #ARGV[a] + #ARGV[a + 1] + #ARGV[a + 2] + #ARGV[a + 3]
            if field then claimed[field] = true end
          end
        end
        -- The hard caps: the oldest entries go first, as many as the new ones push over either cap.
        local length, counted = redis.call('XLEN', KEYS[1]), tonumber(redis.call('GET', KEYS[3]) or '0')
        -- An empty (or deleted) stream holds nothing, whatever its count says.
        local size = length == 0 and 0 or counted
        local excess, excess_bytes = length + new - cap, size + new_bytes - cap_bytes
        local lost = 0
        if length > 0 and (excess > 0 or excess_bytes > 0) then
          local groups = groups_of(KEYS[1])
          if not groups[ARGV[4]] then groups[ARGV[4]] = {} end
          local cut, freed = 0, 0
          if excess_bytes <= 0 and lags_known(groups) then
            cut = math.min(excess, length)
            lost, freed = cut_oldest(cut, length, groups)
          else
            cut, freed, lost = cut_reading(excess, excess_bytes, length, size, groups)
          end
          size = cut < length and math.max(size - freed, 0) or 0
        end
        -- Each new entry: its four fields, then the call's shared ones. The reply is the call's loss,
        -- a '1' or '0' per entry for whether it was a duplicate, then each entry's stream ID; callers
        -- report the loss once.
        local fields = {KEYS[1], '*', 'event_id', false, 'run_id', false, 'type', false, 'envelope', false}
        for i = 9, first - 1 do fields[#fields + 1] = ARGV[i] end
        local results, duplicate, added, remembered = {lost, ''}, {}, {}, {}
        for e = 1, count do
          local field = field_of[e]
          local existing = field and (known[field] or added[field])
          if existing then
            results[e + 2] = existing
            duplicate[e] = '1'
          else
            local a = first + (e - 1) * 4
            fields[4], fields[6], fields[8], fields[10] = ARGV[a], ARGV[a + 1], ARGV[a + 2], ARGV[a + 3]
            local id = redis.call('XADD', unpack(fields))
            if field then
              added[field] = id
              remembered[#remembered + 1] = field
              remembered[#remembered + 1] = id
            end
            results[e + 2] = id
            duplicate[e] = '0'
          end
        end
        if #remembered > 0 then
          for i = 1, #remembered, 1000 do
            redis.call('HSET', KEYS[5], unpack(remembered, i, math.min(i + 999, #remembered)))
          end
          redis.call('PEXPIRE', KEYS[5], ARGV[3])
        end
        if size + new_bytes ~= counted then redis.call('SET', KEYS[3], string.format('%.0f', size + new_bytes)) end
        results[2] = table.concat(duplicate)
        return results
        """;

    /// <summary>One entry to append; <paramref name="Deduplicate"/> when its event id is the producer's, to be remembered.</summary>
    public readonly record struct Entry(string EventId, string RunId, string Type, RedisValue Envelope, bool Deduplicate);

    /// <summary>The fields every entry of a call carries with the same value, after its own four.</summary>
    public sealed record Shared(long IngestedAtMs, string? TraceParent = null, string? Producer = null)
    {
        /// <summary>How many there are.</summary>
        internal int Count => 1 + (TraceParent is null ? 0 : 1) + (Producer is null ? 0 : 1);

        /// <summary>Their name/value pairs into <paramref name="args"/> from <paramref name="at"/>, in the order they follow an entry's own fields.</summary>
        internal int WriteTo(RedisValue[] args, int at)
        {
            args[at++] = StreamFields.IngestedAt;
            args[at++] = IngestedAtMs;
            if (TraceParent is not null)
            {
                args[at++] = StreamFields.TraceParent;
                args[at++] = TraceParent;
            }
            if (Producer is not null)
            {
                args[at++] = StreamFields.Producer;
                args[at++] = Producer;
            }
            return at;
        }

        /// <summary>Their bytes as the byte cap counts them: names and values.</summary>
        internal long Size =>
            StreamFields.IngestedAt.Length + Digits(IngestedAtMs)
            + (TraceParent is null ? 0 : StreamFields.TraceParent.Length + Encoding.UTF8.GetByteCount(TraceParent))
            + (Producer is null ? 0 : StreamFields.Producer.Length + Encoding.UTF8.GetByteCount(Producer));
    }

    /// <summary>The dedupe window and whose ids are remembered: null for producers' events, else a run of the pipeline's own.</summary>
    public readonly record struct Dedupe(TimeSpan Window, string? Scope = null);

    /// <summary>The caps an append holds the stream to: entries and bytes (field names and values).</summary>
    public readonly record struct Caps(long Entries, long Bytes)
    {
        public static readonly Caps None = new(long.MaxValue, long.MaxValue);
    }

    /// <summary>
    /// Appends <paramref name="entries"/> in order in one script call (atomic: all or none);
    /// an entry whose (run, event id) repeats an earlier one, in this call or within the dedupe
    /// window, is answered with the earlier entry's stream ID. The call's loss to the caps is
    /// reported on its first new entry.
    /// </summary>
    /// <param name="boundingGroup">The group whose loss counts even before the group exists (the persister).</param>
    public static async Task<Appended[]> AppendAsync(IDatabaseAsync db, int partition, IReadOnlyList<Entry> entries, Shared shared,
        Caps caps, Dedupe dedupe, string boundingGroup)
    {
        var (keys, args) = Call(partition, entries, shared, caps, dedupe, boundingGroup);
        var reply = (RedisResult[])(await db.ScriptEvaluateAsync(Script, keys, args))!;
        var lost = (long)reply[0];
        var duplicates = (string)reply[1]!;
        var appended = new Appended[entries.Count];
        for (var i = 0; i < appended.Length; i++)
        {
            var duplicate = duplicates[i] == '1';
            appended[i] = new Appended(reply[2 + i].ToString(), duplicate, duplicate ? 0 : lost);
            lost = duplicate ? lost : 0;
        }
        return appended;
    }

    /// <summary>
    /// The keys and arguments of the script call that <see cref="AppendAsync"/> makes for these
    /// entries (laid out as the script's comment says); public so that a measurement can send
    /// exactly these arguments to another script.
    /// </summary>
    public static (RedisKey[] Keys, RedisValue[] Args) Call(int partition, IReadOnlyList<Entry> entries, Shared shared,
        Caps caps, Dedupe dedupe, string boundingGroup)
    {
        var window = (long)dedupe.Window.TotalMilliseconds;
        var bucket = shared.IngestedAtMs / window;
        var deduplicates = false;
        var flags = new char[entries.Count];
        var args = new RedisValue[8 + shared.Count * 2 + entries.Count * 4];
        (args[0], args[1], args[2], args[3], args[4], args[5]) = (caps.Entries, caps.Bytes, (bucket + 2) * window - shared.IngestedAtMs, boundingGroup, entries.Count, shared.Count);
        args[7] = OwnFieldNames + shared.Size;
        var at = shared.WriteTo(args, 8);
        for (var i = 0; i < entries.Count; i++)
        {
            var entry = entries[i];
            deduplicates |= entry.Deduplicate;
            flags[i] = entry.Deduplicate ? '1' : '0';
            args[at++] = entry.EventId;
            args[at++] = entry.RunId;
            args[at++] = entry.Type;
            args[at++] = entry.Envelope;
        }
        args[6] = new string(flags);
        RedisKey[] keys = deduplicates
            ? [StreamKeys.Events(partition), StreamKeys.Overflow(partition), StreamKeys.Size(partition),
                StreamKeys.DedupeBucket(partition, dedupe.Window, bucket - 1, dedupe.Scope),
                StreamKeys.DedupeBucket(partition, dedupe.Window, bucket, dedupe.Scope),
                StreamKeys.DedupeBucket(partition, dedupe.Window, bucket + 1, dedupe.Scope)]
            : [StreamKeys.Events(partition), StreamKeys.Overflow(partition), StreamKeys.Size(partition)];
        return (keys, args);
    }

    /// <summary>The bytes of the four field names every entry has.</summary>
    private static readonly int OwnFieldNames = StreamFields.EventId.Length + StreamFields.RunId.Length + StreamFields.Type.Length + StreamFields.Envelope.Length;

    private static int Digits(long value) => value.ToString(CultureInfo.InvariantCulture).Length;
}
