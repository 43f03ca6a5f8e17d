using System.Diagnostics;
using System.Globalization;
using Arena.Contracts;
using Arena.Contracts.Validation;
using Arena.ServiceDefaults;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Retry;
using Polly.Timeout;
using StackExchange.Redis;

namespace Arena.Ingest;

/// <summary>Redis could not take the request within the retry budget; nothing more is known of the failed events.</summary>
public sealed class RedisUnavailableException(string message, Exception inner) : Exception(message, inner);

/// <summary>
/// Appends accepted events to their partition's stream. All events of a request are sent
/// at once (the multiplexer pipelines them, in request order). A producer-supplied
/// <c>event_id</c> goes through one Lua script that checks the dedupe key and XADDs
/// atomically, so a re-sent event returns its original stream ID and adds nothing.
/// </summary>
public sealed class EventPublisher
{
    // KEYS[1] stream, KEYS[2] dedupe key (same hash slot); ARGV[1] MAXLEN, ARGV[2] window ms, ARGV[3..] field/value pairs.
    private const string DedupeAndAdd = """
        local existing = redis.call('GET', KEYS[2])
        if existing then return {existing, 1} end
        local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', unpack(ARGV, 3))
        redis.call('SET', KEYS[2], id, 'PX', ARGV[2])
        return {id, 0}
        """;

    private static readonly ResiliencePropertyKey<bool> Idempotent = new("arena.idempotent");

    private readonly IConnectionMultiplexer _redis;
    private readonly IngestOptions _options;
    private readonly int _partitions;
    private readonly TimeProvider _time;
    private readonly IngestMetrics _metrics;
    private readonly ResiliencePipeline _pipeline;

    public EventPublisher(IConnectionMultiplexer redis, IOptions<IngestOptions> options, IOptions<ArenaOptions> arena, TimeProvider time, IngestMetrics metrics)
    {
        _redis = redis;
        _options = options.Value;
        _partitions = arena.Value.Partitions;
        _time = time;
        _metrics = metrics;
        _pipeline = new ResiliencePipelineBuilder()
            .AddTimeout(_options.RedisBudget)
            .AddRetry(new RetryStrategyOptions
            {
                MaxRetryAttempts = 4,
                Delay = TimeSpan.FromMilliseconds(50),
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                ShouldHandle = args => ValueTask.FromResult(args.Outcome.Exception is { } e && IsSafeToRetry(e, args.Context.Properties.GetValue(Idempotent, false))),
                OnRetry = _ =>
                {
                    _metrics.RedisRetries.Add(1);
                    return ValueTask.CompletedTask;
                },
            })
            .Build();
    }

    /// <summary>
    /// Retrying is safe when the event is idempotent (its dedupe key makes a second XADD a
    /// no-op), or when Redis never saw the command. A command that may have run is not
    /// retried for an event without a producer id: that could write it twice.
    /// </summary>
    private static bool IsSafeToRetry(Exception e, bool idempotent) => e switch
    {
        RedisConnectionException c => idempotent || c.CommandStatus == CommandStatus.WaitingToBeSent,
        RedisTimeoutException t => idempotent || t.Commandstatus == CommandStatus.WaitingToBeSent,
        _ => false,
    };

    public async Task<IReadOnlyList<PublishResult>> PublishAsync(IReadOnlyList<ValidatedEvent> events, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var db = _redis.GetDatabase();
        var ingestedAt = _time.GetUtcNow().ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture);
        var pending = new Task<PublishResult>[events.Count];
        var partitions = new HashSet<int>();
        for (var i = 0; i < events.Count; i++)
        {
            var partition = Partitioner.PartitionOf(events[i].RunId, _partitions);
            partitions.Add(partition);
            pending[i] = PublishOneAsync(db, events[i], partition, ingestedAt, cancellationToken);
        }

        try
        {
            await Task.WhenAll(pending);
        }
        catch (Exception e) when (e is RedisException or TimeoutRejectedException or TimeoutException)
        {
            var failed = pending.Count(t => !t.IsCompletedSuccessfully);
            throw new RedisUnavailableException($"{failed} of {events.Count} events could not be written to Redis", e);
        }

        foreach (var partition in partitions)
        {
            // A hint for idle consumers; they also poll, so a lost message only costs latency.
            db.Publish(RedisChannel.Literal(StreamKeys.WakeChannel), partition, CommandFlags.FireAndForget);
        }
        _metrics.PublishDuration.Record(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        return [.. pending.Select(t => t.Result)];
    }

    private async Task<PublishResult> PublishOneAsync(IDatabase db, ValidatedEvent evt, int partition, string ingestedAt, CancellationToken cancellationToken)
    {
        var idempotent = evt.EventId is not null;
        var eventId = evt.EventId ?? Guid.CreateVersion7().ToString();
        var stream = StreamKeys.Events(partition);
        var envelope = CanonicalEnvelope.Write(evt, eventId);

        var context = ResilienceContextPool.Shared.Get(cancellationToken);
        context.Properties.Set(Idempotent, idempotent);
        try
        {
            return await _pipeline.ExecuteAsync(async ctx =>
            {
                if (!idempotent)
                {
                    var id = await db.StreamAddAsync(stream, Fields(eventId, evt, envelope, ingestedAt),
                        maxLength: _options.MaxStreamLength, useApproximateMaxLength: true).WaitAsync(ctx.CancellationToken);
                    return new PublishResult(eventId, id.ToString(), Duplicate: false);
                }

                var args = new List<RedisValue>(12)
                {
                    _options.MaxStreamLength,
                    (long)_options.DedupeWindow.TotalMilliseconds,
                };
                foreach (var field in Fields(eventId, evt, envelope, ingestedAt))
                {
                    args.Add(field.Name);
                    args.Add(field.Value);
                }
                var reply = (RedisResult[])(await db.ScriptEvaluateAsync(DedupeAndAdd,
                    [stream, StreamKeys.Dedupe(partition, eventId)], [.. args]).WaitAsync(ctx.CancellationToken))!;
                var duplicate = (long)reply[1] == 1;
                if (duplicate)
                {
                    _metrics.Duplicates.Add(1);
                }
                return new PublishResult(eventId, reply[0].ToString(), duplicate);
            }, context);
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    private static NameValueEntry[] Fields(string eventId, ValidatedEvent evt, byte[] envelope, string ingestedAt) =>
    [
        new(StreamFields.EventId, eventId),
        new(StreamFields.RunId, evt.RunId),
        new(StreamFields.Type, evt.Type),
        new(StreamFields.Envelope, envelope),
        new(StreamFields.IngestedAt, ingestedAt),
    ];
}
