using System.Diagnostics;
using Arena.Contracts;
using Arena.Contracts.Validation;
using Arena.Messaging;
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
/// Appends accepted events to their partition's stream through <see cref="StreamAppender"/>
/// (dedupe of producer ids, the hard cap with overflow accounting). All events of a request
/// are sent at once; the multiplexer pipelines them, in request order.
/// </summary>
public sealed class EventPublisher
{
    private static readonly ResiliencePropertyKey<bool> Idempotent = new("arena.idempotent");

    private readonly IConnectionMultiplexer _redis;
    private readonly IngestOptions _options;
    private readonly int _partitions;
    private readonly TimeProvider _time;
    private readonly IngestMetrics _metrics;
    private readonly ResiliencePipeline _pipeline;
    private readonly ILogger<EventPublisher> _logger;

    public EventPublisher(IConnectionMultiplexer redis, IOptions<IngestOptions> options, IOptions<ArenaOptions> arena, TimeProvider time, IngestMetrics metrics, ILogger<EventPublisher> logger)
    {
        _logger = logger;
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
        var ingestedAt = _time.GetUtcNow().ToUnixTimeMilliseconds();
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

    private async Task<PublishResult> PublishOneAsync(IDatabase db, ValidatedEvent evt, int partition, long ingestedAt, CancellationToken cancellationToken)
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
                var appended = await StreamAppender.AppendAsync(db, partition,
                    StreamEntries.Fields(eventId, evt.RunId, evt.Type, envelope, ingestedAt, TraceParent()), evt.EventId,
                    _options.MaxStreamLength, _options.DedupeWindow, StreamKeys.PersisterGroup).WaitAsync(ctx.CancellationToken);
                if (appended.Duplicate)
                {
                    _metrics.Duplicates.Add(1);
                }
                if (appended.Lost > 0)
                {
                    _metrics.Overflow.Add(appended.Lost);
                    _logger.LogError("Stream overflow: the hard cap of {Cap} on {Stream} removed {Lost} entries the persister had not committed; a stream_overflow event will name the range",
                        _options.MaxStreamLength, stream, appended.Lost);
                }
                return new PublishResult(eventId, appended.StreamId, appended.Duplicate);
            }, context);
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    /// <summary>The producer's request span, so consumers can link their spans to it.</summary>
    private static string? TraceParent() => Activity.Current is { IdFormat: ActivityIdFormat.W3C } activity ? activity.Id : null;
}
