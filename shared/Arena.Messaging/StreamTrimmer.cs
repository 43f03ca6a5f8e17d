using System.ComponentModel.DataAnnotations;
using System.Diagnostics.Metrics;
using System.Globalization;
using Arena.Contracts;
using Arena.ServiceDefaults;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Arena.Messaging;

/// <summary>Retention of the stream for live readers; bound from the persister's section.</summary>
public sealed class TrimOptions
{
    /// <summary>Keep at least this many newest entries.</summary>
    [Range(0, 100_000_000)]
    public int RetainCount { get; set; } = 10_000;

    /// <summary>Keep every entry younger than this.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "30.00:00:00")]
    public TimeSpan RetainFor { get; set; } = TimeSpan.FromMinutes(5);

    [Range(typeof(TimeSpan), "00:00:00.050", "01:00:00")]
    public TimeSpan TrimInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Groups whose commits bound trimming, comma-separated. The first (the persister) must
    /// exist for anything to be trimmed; the others bound it while they exist, so a lagging
    /// ranker loses nothing to trimming (only the hard cap can cut it short).
    /// </summary>
    [Required, RegularExpression("^[a-z][a-z0-9_-]{0,63}(,[a-z][a-z0-9_-]{0,63})*$")]
    public string BoundGroups { get; set; } = "persister,ranker";
}

/// <summary>
/// Trims each partition's stream (XTRIM MINID) only below what the persister (and every other
/// bounding group that exists, the ranker by default) has committed — everything before its
/// oldest pending entry, or up to its last delivered entry when nothing is pending — while
/// keeping the retention window. It also reports what the ingest hard cap
/// removed before the persister committed it: one <c>stream_overflow</c> event per range on
/// the stream, an error log and a metric.
/// </summary>
public sealed class StreamTrimmer(
    IConnectionMultiplexer redis,
    IOptions<TrimOptions> options,
    IOptions<ArenaOptions> arena,
    IMeterFactory meters,
    TimeProvider time,
    ILogger<StreamTrimmer> logger) : BackgroundService
{
    // KEYS[1] stream. ARGV[1] bounding groups (the first required), ARGV[2] entries to keep, ARGV[3] time cut-off ID.
    private const string TrimScript = LuaStreams.Prelude + """
        if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
        local bounding, required = {}, nil
        for name in string.gmatch(ARGV[1], '[^,]+') do
          bounding[name] = true
          required = required or name
        end
        local boundary, found = nil, false
        for name, fields in pairs(groups_of(KEYS[1])) do
          if bounding[name] then
            if name == required then found = true end
            -- Committed: everything before the oldest pending entry, or up to the last delivered one.
            local committed
            local pending = redis.call('XPENDING', KEYS[1], name)
            if tonumber(pending[1]) > 0 then
              committed = pending[2]
            else
              local ms, seq = parse_id(fields['last-delivered-id'])
              committed = string.format('%.0f-%.0f', ms, seq + 1)
            end
            if boundary == nil or id_less(committed, boundary) then boundary = committed end
          end
        end
        if not found then return 0 end
        if id_less(ARGV[3], boundary) then boundary = ARGV[3] end
        local keep = tonumber(ARGV[2])
        if keep == 0 then return redis.call('XTRIM', KEYS[1], 'MINID', '~', boundary) end
        -- LIMIT caps what one trim evicts, so the newest `keep` entries always stay, without reading them.
        local excess = redis.call('XLEN', KEYS[1]) - keep
        if excess <= 0 then return 0 end
        return redis.call('XTRIM', KEYS[1], 'MINID', '~', boundary, 'LIMIT', excess)
        """;

    // KEYS[1] overflow hash, KEYS[2] the same being reported. Hands out one range at a time, crash-safely.
    private const string TakeOverflowScript = """
        if redis.call('EXISTS', KEYS[2]) == 0 then
          if redis.call('EXISTS', KEYS[1]) == 0 then return {} end
          redis.call('RENAME', KEYS[1], KEYS[2])
        end
        return redis.call('HGETALL', KEYS[2])
        """;

    private readonly TrimOptions _options = options.Value;
    private readonly Counter<long> _trimmed = meters.Create(ConsumerMetrics.MeterName)
        .CreateCounter<long>("arena.stream.trimmed", "{entry}", "Entries trimmed below the persister's commits");
    private readonly Counter<long> _overflowReported = meters.Create(ConsumerMetrics.MeterName)
        .CreateCounter<long>("arena.stream.overflow.reported", "{entry}", "Entries the hard cap removed before they were persisted, as reported in stream_overflow events");

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        _trimmed.Add(0);
        _overflowReported.Add(0);
        var db = redis.GetDatabase();
        while (!stoppingToken.IsCancellationRequested)
        {
            for (var p = 0; p < arena.Value.Partitions; p++)
            {
                try
                {
                    await ReportOverflowAsync(db, p);
                    await TrimAsync(db, p);
                }
                catch (Exception e) when (e is RedisException or TimeoutException)
                {
                    logger.LogWarning("Trimming partition {Partition} skipped this round: {Error}", p, e.Message);
                }
            }
            try
            {
                await Task.Delay(_options.TrimInterval, time, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    public async Task<long> TrimAsync(IDatabase db, int partition)
    {
        var cutoff = (time.GetUtcNow() - _options.RetainFor).ToUnixTimeMilliseconds();
        var trimmed = (long)await db.ScriptEvaluateAsync(TrimScript, [StreamKeys.Events(partition)],
            [_options.BoundGroups, _options.RetainCount, string.Create(CultureInfo.InvariantCulture, $"{Math.Max(cutoff, 0)}-0")]);
        if (trimmed > 0)
        {
            _trimmed.Add(trimmed);
            logger.LogDebug("Trimmed {Count} persisted entries from {Stream}", trimmed, StreamKeys.Events(partition));
        }
        return trimmed;
    }

    private async Task ReportOverflowAsync(IDatabase db, int partition)
    {
        var reporting = StreamKeys.Overflow(partition) + ":reporting";
        var fields = (RedisResult[])(await db.ScriptEvaluateAsync(TakeOverflowScript, [StreamKeys.Overflow(partition), reporting]))!;
        if (fields.Length == 0)
        {
            return;
        }
        var range = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i + 1 < fields.Length; i += 2)
        {
            range[fields[i].ToString()] = fields[i + 1].ToString();
        }
        var first = range["first"];
        var last = range["last"];
        var lost = long.Parse(range["count"], CultureInfo.InvariantCulture);
        var stream = StreamKeys.Events(partition);
        // A deterministic id: a report repeated after a crash is deduplicated.
        await StreamEntries.AppendPipelineEventAsync(db, arena.Value.Partitions, EventTypes.StreamOverflow,
            new StreamOverflow(stream, partition, StreamKeys.PersisterGroup, first, last, lost),
            $"overflow:{partition}:{first}:{last}", idempotent: true, time.GetUtcNow());
        await db.KeyDeleteAsync(reporting);
        _overflowReported.Add(lost);
        logger.LogError("Stream overflow on {Stream}: {Lost} entries from {First} to {Last} were removed by the hard cap before the persister committed them",
            stream, lost, first, last);
    }
}
