namespace Arena.Messaging;

/// <summary>Lua helpers the stream scripts share: stream IDs compared as numbers, a stream's groups by name.</summary>
internal static class LuaStreams
{
    public const string Prelude = """
        local function parse_id(id)
          local dash = string.find(id, '-', 1, true)
          return tonumber(string.sub(id, 1, dash - 1)), tonumber(string.sub(id, dash + 1))
        end
        local function id_less(a, b)
          local am, as = parse_id(a)
          local bm, bs = parse_id(b)
          return am < bm or (am == bm and as < bs)
        end
        local function groups_of(key)
          local all = {}
          for _, g in ipairs(redis.call('XINFO', 'GROUPS', key)) do
            local fields = {}
            for i = 1, #g, 2 do fields[g[i]] = g[i + 1] end
            all[fields['name']] = fields
          end
          return all
        end

        """;

    /// <summary>
    /// Where a group's commits end, for the scripts that bound something by them (after
    /// <see cref="Prelude"/>): a consumer acknowledges an entry only once its effect is durable,
    /// and entries are delivered in ID order, so everything before the group's oldest pending
    /// entry is committed — or everything up to its last delivered one when nothing is pending.
    /// </summary>
    public const string Commits = """
        -- The first entry the group has not committed, and how many it holds pending.
        local function uncommitted_from(key, name, fields)
          local pending = redis.call('XPENDING', key, name)
          if tonumber(pending[1]) > 0 then return pending[2], pending[1] end
          local ms, seq = parse_id(fields['last-delivered-id'])
          return string.format('%.0f-%.0f', ms, seq + 1), 0
        end

        """;
}
