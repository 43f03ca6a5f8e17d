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
public sealed class TrimOptions : IValidatableObject
{
    /// <summary>Keep at least this many newest entries.</summary>
    [Range(0, 100_000_000)]
    public int RetainCount { get; set; } = 10_000;

    /// <summary>Keep every entry younger than this, up to <see cref="RetainAtMost"/> entries.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "30.00:00:00")]
    public TimeSpan RetainFor { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// The most entries <see cref="RetainFor"/> keeps: older ones than the newest this many are
    /// trimmed though younger than <see cref="RetainFor"/>, so that a high rate is held by
    /// trimming below ingest's hard cap (at half its default of 1,000,000), not by the cap.
    /// Entries a bounding group has not committed stay all the same. 0: no limit by count.
    /// </summary>
    [Range(0, 100_000_000)]
    public int RetainAtMost { get; set; } = 500_000;

    [Range(typeof(TimeSpan), "00:00:00.050", "01:00:00")]
    public TimeSpan TrimInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Groups whose commits bound trimming, comma-separated. The first (the persister) must
    /// exist for anything to be trimmed; the others bound it while they exist, so a lagging
    /// ranker loses nothing to trimming (only the hard cap can cut it short). <c>*</c> stands
    /// for every other group on the stream, so a consumer added later is bounded too without
    /// being named here.
    /// </summary>
    [Required, RegularExpression("^[a-z][a-z0-9_-]{0,63}(,([a-z][a-z0-9_-]{0,63}|\\*))*$",
        ErrorMessage = "BoundGroups must be group names separated by commas, the first a name, the others names or * (every other group).")]
    public string BoundGroups { get; set; } = "persister,*";

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (RetainAtMost != 0 && RetainAtMost < RetainCount)
        {
            yield return new ValidationResult(
                $"RetainAtMost ({RetainAtMost}) must be 0 (no limit by count) or at least RetainCount ({RetainCount}): the most entries kept cannot be fewer than the least.",
                [nameof(RetainAtMost), nameof(RetainCount)]);
        }
    }
}

/// <summary>
/// Trims each partition's stream (XTRIM MINID) only below what the persister (and every other
/// bounding group that exists, every other group by default) has committed — everything before its
/// oldest pending entry, or up to its last delivered entry when nothing is pending — while
/// keeping the retention window: the newest <see cref="TrimOptions.RetainCount"/> entries, and
/// those younger than <see cref="TrimOptions.RetainFor"/> up to the newest
/// <see cref="TrimOptions.RetainAtMost"/>. It also reports what the ingest hard caps
/// removed before a group committed it: one <c>stream_overflow</c> event per group and range on
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
    // KEYS[1] stream, KEYS[2] its size key. ARGV[1] bounding groups (the first required), ARGV[2] entries to keep at least,
    // ARGV[3] time cut-off ID, ARGV[4] entries the time cut-off keeps at most (0: no limit).
    private const string TrimScript = LuaStreams.Prelude + LuaStreams.Commits + """
        if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
        local bounding, required = {}, nil
        for name in string.gmatch(ARGV[1], '[^,]+') do
          bounding[name] = true
          required = required or name
        end
        local boundary, found = nil, false
        for name, fields in pairs(groups_of(KEYS[1])) do
          if bounding[name] or bounding['*'] then
            if name == required then found = true end
            local uncommitted = uncommitted_from(KEYS[1], name, fields)
            if boundary == nil or id_less(uncommitted, boundary) then boundary = uncommitted end
          end
        end
        if not found then return 0 end
        -- LIMIT caps what a trim evicts (an exact bound, whole nodes only), so each rule keeps its newest
        -- entries without reading them; LIMIT 0 would mean no limit, hence the checks before each trim.
        local trimmed, length = 0, redis.call('XLEN', KEYS[1])
        local most = tonumber(ARGV[4])
        if most > 0 and length > most then
          -- Beyond the most entries kept: trimmed down to them whatever their age, still below the commits.
          trimmed = redis.call('XTRIM', KEYS[1], 'MINID', '~', boundary, 'LIMIT', length - most)
          length = length - trimmed
        end
        local excess = length - tonumber(ARGV[2])
        if excess > 0 then
          local old = boundary
          if id_less(ARGV[3], old) then old = ARGV[3] end
          trimmed = trimmed + redis.call('XTRIM', KEYS[1], 'MINID', '~', old, 'LIMIT', excess)
        end
        -- The byte cap's count learns what this trim removed from Redis's own measure of the stream.
        if trimmed > 0 then redis.call('SET', KEYS[2], redis.call('MEMORY', 'USAGE', KEYS[1], 'SAMPLES', 0)) end
        return trimmed
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
        .CreateCounter<long>("arena.stream.overflow.reported", "{entry}", "Entries the hard caps removed before a group committed them, as reported in stream_overflow events");

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        _trimmed.Add(0);
        _overflowReported.Add(0, new KeyValuePair<string, object?>("group", StreamKeys.PersisterGroup));
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
        var trimmed = (long)await db.ScriptEvaluateAsync(TrimScript, [StreamKeys.Events(partition), StreamKeys.Size(partition)],
            [_options.BoundGroups, _options.RetainCount, string.Create(CultureInfo.InvariantCulture, $"{Math.Max(cutoff, 0)}-0"), _options.RetainAtMost]);
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
        // The persister's range has the plain field names (first, last, count); another group's are "<group>:first" and so on.
        var ranges = new Dictionary<string, Dictionary<string, string>>(StringComparer.Ordinal);
        for (var i = 0; i + 1 < fields.Length; i += 2)
        {
            var name = fields[i].ToString();
            var colon = name.LastIndexOf(':');
            var group = colon < 0 ? StreamKeys.PersisterGroup : name[..colon];
            if (!ranges.TryGetValue(group, out var range))
            {
                ranges[group] = range = new Dictionary<string, string>(StringComparer.Ordinal);
            }
            range[name[(colon + 1)..]] = fields[i + 1].ToString();
        }
        var stream = StreamKeys.Events(partition);
        foreach (var (group, range) in ranges)
        {
            var first = range["first"];
            var last = range["last"];
            var lost = long.Parse(range["count"], CultureInfo.InvariantCulture);
            // A deterministic id: a report repeated after a crash is deduplicated.
            var eventId = group == StreamKeys.PersisterGroup ? $"overflow:{partition}:{first}:{last}" : $"overflow:{partition}:{group}:{first}:{last}";
            await StreamEntries.AppendPipelineEventAsync(db, arena.Value.Partitions, EventTypes.StreamOverflow,
                new StreamOverflow(stream, partition, group, first, last, lost), eventId, idempotent: true, time.GetUtcNow());
            _overflowReported.Add(lost, new KeyValuePair<string, object?>("group", group));
            logger.LogError("Stream overflow on {Stream}: {Lost} entries from {First} to {Last} were removed by the hard cap before group {Group} committed them",
                stream, lost, first, last, group);
        }
        await db.KeyDeleteAsync(reporting);
    }
}
