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
/// (dedupe of producer ids per run, the hard cap with overflow accounting): each partition's events
/// of a request in order, up to <see cref="ChunkSize"/> per script call; all calls are sent
/// at once and the multiplexer pipelines them.
/// </summary>
public sealed class EventPublisher
{
    private static readonly ResiliencePropertyKey<bool> Idempotent = new("arena.idempotent");

    private readonly IConnectionMultiplexer _redis;
    private readonly IngestOptions _options;
    private readonly int _partitions;
    private readonly TimeProvider _time;
    private readonly IngestMetrics _metrics;
    private readonly ReplicaAcks _replicas;
    private readonly ResiliencePipeline _pipeline;
    private readonly ILogger<EventPublisher> _logger;

    public EventPublisher(IConnectionMultiplexer redis, IOptions<IngestOptions> options, IOptions<ArenaOptions> arena, TimeProvider time, IngestMetrics metrics,
        ReplicaAcks replicas, ILogger<EventPublisher> logger)
    {
        _replicas = replicas;
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
    /// Retrying a script call is safe when every event in it is idempotent (their dedupe keys
    /// make a second run a no-op), or when Redis never saw the command. A call that may have
    /// run is not retried when an event in it has no producer id: that could write it twice.
    /// </summary>
    private static bool IsSafeToRetry(Exception e, bool idempotent) => e switch
    {
        RedisConnectionException c => idempotent || c.CommandStatus == CommandStatus.WaitingToBeSent,
        RedisTimeoutException t => idempotent || t.Commandstatus == CommandStatus.WaitingToBeSent,
        _ => false,
    };

    /// <summary>Events per script call: large enough to share the call's cost, small enough not to hold Redis long.</summary>
    public const int ChunkSize = 100;

    /// <param name="producer">The name of the caller's API key, recorded with each event; null while ingest is open.</param>
    public async Task<IReadOnlyList<PublishResult>> PublishAsync(IReadOnlyList<ValidatedEvent> events, string? producer, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var db = _redis.GetDatabase();
        var ingestedAt = _time.GetUtcNow().ToUnixTimeMilliseconds();
        var traceParent = TraceParent();
        var results = new PublishResult[events.Count];
        // All chunks are sent at once and pipelined.
        var chunks = Chunks(events);
        var pending = new Task[chunks.Count];
        for (var i = 0; i < chunks.Count; i++)
        {
            pending[i] = PublishChunkAsync(db, chunks[i].Partition, chunks[i].Indexes, events, results, ingestedAt, traceParent, producer, cancellationToken);
        }

        try
        {
            await Task.WhenAll(pending);
        }
        catch (Exception e) when (e is RedisException or TimeoutRejectedException or TimeoutException)
        {
            var failed = chunks.Where((_, i) => !pending[i].IsCompletedSuccessfully).Sum(c => c.Indexes.Length);
            throw new RedisUnavailableException($"{failed} of {events.Count} events could not be written to Redis", e);
        }
        catch (ReplicaWaitException e)
        {
            throw new RedisUnavailableException($"events were written to their master but not confirmed by its replicas: {e.Message}", e);
        }

        for (var i = 0; i < chunks.Count; i++)
        {
            // A hint for idle consumers, once per partition; they also poll, so a lost message only costs latency.
            if (i == 0 || chunks[i].Partition != chunks[i - 1].Partition)
            {
                db.Publish(RedisChannel.Literal(StreamKeys.WakeChannel), chunks[i].Partition, CommandFlags.FireAndForget);
            }
        }
        _metrics.PublishDuration.Record(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        return results;
    }

    /// <summary>
    /// Each partition's events in request order, partitions in the order they first appear, in
    /// chunks of at most <see cref="ChunkSize"/>: a partition's chunks follow each other.
    /// </summary>
    private List<(int Partition, int[] Indexes)> Chunks(IReadOnlyList<ValidatedEvent> events)
    {
        const int Taken = -1;
        Span<int> partitions = events.Count <= 1024 ? stackalloc int[events.Count] : new int[events.Count];
        for (var i = 0; i < events.Count; i++)
        {
            partitions[i] = Partitioner.PartitionOf(events[i].RunId, _partitions);
        }
        var chunks = new List<(int Partition, int[] Indexes)>(events.Count / ChunkSize + 1);
        for (var first = 0; first < events.Count; first++)
        {
            var partition = partitions[first];
            if (partition == Taken)
            {
                continue;
            }
            var left = partitions[first..].Count(partition);
            for (var i = first; left > 0; )
            {
                var chunk = new int[Math.Min(ChunkSize, left)];
                for (var at = 0; at < chunk.Length; i++)
                {
                    if (partitions[i] == partition)
                    {
                        chunk[at++] = i;
                        partitions[i] = Taken;
                    }
                }
                chunks.Add((partition, chunk));
                left -= chunk.Length;
            }
        }
        return chunks;
    }

    private async Task PublishChunkAsync(IDatabase db, int partition, int[] indexes, IReadOnlyList<ValidatedEvent> events, PublishResult[] results,
        long ingestedAt, string? traceParent, string? producer, CancellationToken cancellationToken)
    {
        var entries = new StreamAppender.Entry[indexes.Length];
        var idempotent = true;
        for (var i = 0; i < indexes.Length; i++)
        {
            var evt = events[indexes[i]];
            var eventId = evt.EventId ?? Guid.CreateVersion7().ToString();
            entries[i] = new StreamAppender.Entry(eventId, evt.RunId, evt.Type, CanonicalEnvelope.Write(evt, eventId), evt.EventId is not null);
            idempotent &= evt.EventId is not null;
        }
        var shared = new StreamAppender.Shared(ingestedAt, traceParent, producer);

        var context = ResilienceContextPool.Shared.Get(cancellationToken);
        // The script is atomic: running it again adds nothing twice only if every event has a producer id.
        context.Properties.Set(Idempotent, idempotent);
        Appended[] appended;
        ReplicaTicket ticket;
        try
        {
            (appended, ticket) = await _pipeline.ExecuteAsync(async ctx =>
            {
                var append = StreamAppender.AppendAsync(db, partition, entries, shared,
                    new StreamAppender.Caps(_options.MaxStreamLength, _options.MaxStreamBytes), new StreamAppender.Dedupe(_options.DedupeWindow), StreamKeys.PersisterGroup);
                // The script call is queued on its master's connection by now: a WAIT sent after this covers it.
                var ticket = _replicas.Ticket(StreamKeys.Events(partition));
                return (await append.WaitAsync(ctx.CancellationToken), ticket);
            }, context);
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
        await _replicas.ConfirmAsync(ticket);

        var duplicates = appended.Count(a => a.Duplicate);
        if (duplicates > 0)
        {
            _metrics.Duplicates.Add(duplicates);
        }
        var lost = appended.Sum(a => a.Lost);
        if (lost > 0)
        {
            _metrics.Overflow.Add(lost);
            _logger.LogError("Stream overflow: the hard cap ({Cap} entries, {CapBytes} bytes) on {Stream} removed {Lost} entries a group had not committed; a stream_overflow event per group will name the range",
                _options.MaxStreamLength, _options.MaxStreamBytes, StreamKeys.Events(partition), lost);
        }
        for (var i = 0; i < indexes.Length; i++)
        {
            results[indexes[i]] = new PublishResult(entries[i].EventId, appended[i].StreamId, appended[i].Duplicate);
        }
    }

    /// <summary>
    /// The producer's request span, so consumers can link their spans to it; only when the trace
    /// is sampled (the producer's <c>traceparent</c> says so, or ingest's own tracing chose it):
    /// ASP.NET Core starts a request activity whenever logging is on, and an unsampled trace
    /// would cost every entry a field that nothing reads.
    /// </summary>
    private static string? TraceParent() => Activity.Current is { IdFormat: ActivityIdFormat.W3C, Recorded: true } activity ? activity.Id : null;
}
