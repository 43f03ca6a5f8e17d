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
}
