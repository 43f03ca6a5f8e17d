using System.Diagnostics;
using Arena.Contracts;
using Arena.Messaging;
using Arena.ServiceDefaults;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Arena.SseGateway;

/// <summary>
/// One reader per partition, shared by every client: it follows the stream (XREAD, no
/// group, it acknowledges nothing) from its last generated ID at start-up and hands each
/// entry to the hub. Each partition's reader blocks in Redis until entries arrive (XREAD
/// BLOCK, on a connection of its own), so an entry reaches the gateway with the same reply
/// cycle that answers its writer: no announcement and no second read in between.
/// </summary>
public sealed class StreamTail(
    IConnectionMultiplexer redis,
    Hub hub,
    IOptions<GatewayOptions> options,
    IOptions<ArenaOptions> arena,
    LoopHealth health,
    TimeProvider time,
    ILogger<StreamTail> logger) : BackgroundService
{
    private const int Batch = 500;
    private static readonly ActivitySource Activities = new(ArenaTelemetry.MeterPrefix + "SseGateway");
    /// <summary>The longest pause after a failed read: a gateway catches up soon after Redis returns.</summary>
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromMilliseconds(500);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var partitions = arena.Value.Partitions;
        var readers = new List<BlockingStreamReader>(partitions);
        try
        {
            for (var p = 0; p < partitions; p++)
            {
                readers.Add(await BlockingStreamReader.ConnectAsync(arena.Value.Redis, $"sse-gateway-tail-{p}", options.Value.IdlePoll, logger));
            }
            await Task.WhenAll(readers.Select((reader, p) => FollowAsync(p, reader, stoppingToken)));
        }
        finally
        {
            foreach (var reader in readers)
            {
                await reader.DisposeAsync();
            }
        }
    }

    private Task FollowAsync(int p, BlockingStreamReader reader, CancellationToken stoppingToken)
    {
        var db = redis.GetDatabase();
        var stream = StreamKeys.Events(p);
        var last = StreamId.Zero;

        async Task<TimeSpan?> RoundAsync(CancellationToken _)
        {
            if (!hub.IsStarted(p))
            {
                last = await LastGeneratedIdAsync(db, stream);
                hub.Start(p, last);
            }
            var entries = await reader.ReadAsync(stream, last, Batch);
            if (entries.Length == 0)
            {
                return null;
            }
            var events = new List<LiveEvent>(entries.Length);
            foreach (var entry in entries)
            {
                var id = StreamId.Parse(entry.Id.ToString());
                last = id;
                if (ToLiveEvent(p, id, entry) is { } e)
                {
                    events.Add(e);
                }
            }
            if (events.Count > 0)
            {
                var started = DateTimeOffset.UtcNow;
                hub.Dispatch(p, events);
                StreamTracing.RecordPerEntry(Activities, "sse-gateway dispatch", entries, started);
            }
            else
            {
                hub.Start(p, last);
            }
            return null;
        }

        return new StreamLoop(redis, $"tail:{p}", health, time, logger, wakeOnAnnouncements: false)
            .RunAsync(RoundAsync, ErrorPolicy.IsReaderTransient, MaxBackoff, stoppingToken);
    }

    /// <summary>
    /// The highest ID the stream has ever issued, 0-0 for a stream that does not exist. Unlike
    /// its last entry, this survives trimming: a stream trimmed empty still knows its IDs.
    /// </summary>
    public static async Task<StreamId> LastGeneratedIdAsync(IDatabase db, RedisKey stream) =>
        await db.KeyExistsAsync(stream)
            ? StreamId.Parse((await db.StreamInfoAsync(stream)).LastGeneratedId.ToString())
            : StreamId.Zero;

    public static LiveEvent? ToLiveEvent(int partition, StreamId id, StreamEntry entry)
    {
        var envelope = entry[StreamFields.Envelope];
        if (envelope.IsNull)
        {
            return null;
        }
        _ = long.TryParse(entry[StreamFields.IngestedAt].ToString(), out var ingestedAt);
        var producer = entry[StreamFields.Producer];
        return new LiveEvent(partition, id, entry[StreamFields.RunId].ToString(), entry[StreamFields.Type].ToString(),
            envelope, producer.IsNull ? null : producer.ToString(), ingestedAt);
    }
}
