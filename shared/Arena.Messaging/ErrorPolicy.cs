using Arena.ServiceDefaults;
using Polly;
using Polly.Retry;
using StackExchange.Redis;

namespace Arena.Messaging;

/// <summary>
/// What a consumer does when something fails, the whole rule in one place:
/// <list type="number">
/// <item><b>Transient</b> (Redis unreachable, loading, failing over, busy, full or unable to
/// persist; a timeout; I/O; or what the service's own store calls transient, e.g. a DuckDB I/O
/// error or out of memory): pause with exponential backoff from 100 ms to <c>MaxBackoff</c>,
/// readiness unhealthy meanwhile, and retry the same batch. Nothing is redelivered, so a
/// transient failure never counts towards poison.</item>
/// <item><b>Anything else</b> a handler throws: the batch is handled again one message at a
/// time to find the messages that cause it; each of those is left pending, delivered again,
/// and dead-lettered with its last error after <c>MaxDeliveries</c> deliveries.</item>
/// <item>A message the handler marks as never able to succeed is dead-lettered at once.</item>
/// <item>Shutdown is neither: the batch in hand is finished, or stays pending.</item>
/// </list>
/// The same classification pauses the read loop when a read or an acknowledgement fails.
/// Readers without a group (the gateway's tail) have nothing to dead-letter: they pause on
/// any Redis failure (<see cref="IsReaderTransient"/>).
/// </summary>
public sealed class ErrorPolicy(Func<Exception, bool>? storeTransient = null)
{
    /// <summary>The runtime's own rule, for a service with no store of its own.</summary>
    public static ErrorPolicy Default { get; } = new();

    /// <summary>The first pause after a transient failure; each further one doubles, up to the maximum.</summary>
    public static readonly TimeSpan FirstBackoff = TimeSpan.FromMilliseconds(100);

    // Redis answers these while it loads, fails over, runs a long script, cannot persist or is full: all pass.
    // A redirect the client did not follow (its slot map was being refreshed after a failover) passes too.
    private static readonly string[] RecoverableServerErrors =
        ["LOADING", "TRYAGAIN", "READONLY", "MASTERDOWN", "BUSY", "MISCONF", "OOM", "CLUSTERDOWN", "MOVED", "ASK", "Key has MOVED"];

    /// <summary>Rule 1: pause and retry the batch.</summary>
    public bool IsTransient(Exception e) =>
        e is RedisConnectionException or RedisTimeoutException or TimeoutException or IOException
        || (e is RedisServerException s && RecoverableServerErrors.Any(prefix => s.Message.StartsWith(prefix, StringComparison.Ordinal)))
        || (storeTransient?.Invoke(e) ?? false);

    /// <summary>Rule 2: the message that caused it fails this delivery.</summary>
    public bool IsMessageFailure(Exception e) => !IsTransient(e) && e is not OperationCanceledException;

    /// <summary>A reader without a group pauses on any Redis failure and on timeouts.</summary>
    public static bool IsReaderTransient(Exception e) => e is RedisException or TimeoutException;

    /// <summary>The pause after <paramref name="current"/>: twice as long, at most <paramref name="max"/>.</summary>
    public static TimeSpan NextBackoff(TimeSpan current, TimeSpan max) => current * 2 < max ? current * 2 : max;

    /// <summary>The middlewares that apply rules 1 to 3 around a handler, outermost first.</summary>
    /// <param name="log">Told of each transient failure and the pause before the retry.</param>
    public Middleware[] Middlewares(ConsumerOptions options, LoopHealth health, ConsumerMetrics metrics, Action<Exception, TimeSpan> log) =>
        [DeadLetterAfter(options.MaxDeliveries), RetryTransient(options.MaxBackoff, options.Group, health, metrics, log), FailuresAsRetry()];

    /// <summary>
    /// Rule 3 and the end of rule 2: a message that failed its last allowed delivery is
    /// dead-lettered with the error it failed with.
    /// </summary>
    private static Middleware DeadLetterAfter(int maxDeliveries) => next => async (batch, ct) =>
    {
        var outcomes = await next(batch, ct);
        MessageOutcome[]? changed = null;
        for (var i = 0; i < outcomes.Count; i++)
        {
            if (outcomes[i].Kind == OutcomeKind.Retry && batch[i].Deliveries >= maxDeliveries)
            {
                changed ??= [.. outcomes];
                changed[i] = MessageOutcome.DeadLetter($"failed {batch[i].Deliveries} deliveries; last error: {outcomes[i].Reason}");
            }
        }
        return changed ?? outcomes;
    };

    /// <summary>
    /// Rule 1: transient failures pause and retry the same batch with exponential backoff,
    /// without a redelivery; readiness is unhealthy while they last. Shutdown ends the wait and
    /// leaves the batch pending.
    /// </summary>
    private Middleware RetryTransient(TimeSpan maxBackoff, string group, LoopHealth health, ConsumerMetrics metrics, Action<Exception, TimeSpan> log)
    {
        var pipeline = new ResiliencePipelineBuilder().AddRetry(new RetryStrategyOptions
        {
            MaxRetryAttempts = int.MaxValue,
            Delay = FirstBackoff < maxBackoff ? FirstBackoff : maxBackoff,
            MaxDelay = maxBackoff,
            BackoffType = DelayBackoffType.Exponential,
            UseJitter = true,
            ShouldHandle = args => ValueTask.FromResult(args.Outcome.Exception is { } e && IsTransient(e)),
            OnRetry = args =>
            {
                metrics.Retried.Add(1, ConsumerMetrics.GroupTag(group));
                health.Unhealthy(group, $"{args.Outcome.Exception!.GetType().Name}: {args.Outcome.Exception.Message}");
                log(args.Outcome.Exception, args.RetryDelay);
                return ValueTask.CompletedTask;
            },
        }).Build();

        return next => async (batch, ct) =>
        {
            // The batch in hand is always attempted, even when shutdown has begun: its entries
            // were delivered, and a clean stop acknowledges them. Only waiting stops on shutdown.
            try
            {
                return await next(batch, ct);
            }
            catch (Exception e) when (IsTransient(e))
            {
                metrics.Retried.Add(1, ConsumerMetrics.GroupTag(group));
                health.Unhealthy(group, $"{e.GetType().Name}: {e.Message}");
                log(e, TimeSpan.Zero);
            }
            return await pipeline.ExecuteAsync(token => next(batch, token), ct);
        };
    }

    /// <summary>
    /// Rule 2: an exception that is not transient fails only the messages that cause it. The
    /// batch is handled again one message at a time (handlers are idempotent), so one poison
    /// message never takes its batch down with it. Transient exceptions pass through.
    /// </summary>
    private Middleware FailuresAsRetry() => next => async (batch, ct) =>
    {
        try
        {
            return await next(batch, ct);
        }
        catch (Exception e) when (IsMessageFailure(e))
        {
            if (batch.Count == 1)
            {
                return [Failed(e)];
            }
        }

        var outcomes = new List<MessageOutcome>(batch.Count);
        foreach (var message in batch)
        {
            try
            {
                outcomes.Add((await next([message], ct))[0]);
            }
            catch (Exception e) when (IsMessageFailure(e))
            {
                outcomes.Add(Failed(e));
            }
        }
        return outcomes;
    };

    private static MessageOutcome Failed(Exception e) => MessageOutcome.Retry($"{e.GetType().Name}: {e.Message}");
}
