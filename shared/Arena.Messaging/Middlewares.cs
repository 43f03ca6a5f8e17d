using System.Diagnostics;
using Arena.Contracts;
using Arena.ServiceDefaults;
using Polly;
using Polly.Retry;

namespace Arena.Messaging;

/// <summary>The cross-cutting behaviour of a consumer, each a wrapper around a <see cref="BatchHandler"/>.</summary>
public static class Middlewares
{
    public static readonly ActivitySource Activities = new(ArenaTelemetry.MeterPrefix + "Consumers");

    public static BatchHandler Use(this BatchHandler handler, params Middleware[] middlewares) =>
        middlewares.Reverse().Aggregate(handler, (next, middleware) => middleware(next));

    /// <summary>
    /// A non-transient exception fails only the messages that cause it: the batch is handled
    /// again one message at a time (handlers are idempotent), so one poison message never
    /// takes its batch down with it. Transient exceptions pass through.
    /// </summary>
    public static Middleware FailuresAsRetry(Func<Exception, bool> isTransient) => next => async (batch, ct) =>
    {
        try
        {
            return await next(batch, ct);
        }
        catch (Exception e) when (IsFailure(e, isTransient))
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
            catch (Exception e) when (IsFailure(e, isTransient))
            {
                outcomes.Add(Failed(e));
            }
        }
        return outcomes;
    };

    private static bool IsFailure(Exception e, Func<Exception, bool> isTransient) => !isTransient(e) && e is not OperationCanceledException;

    private static MessageOutcome Failed(Exception e) => MessageOutcome.Retry($"{e.GetType().Name}: {e.Message}");

    /// <summary>
    /// Transient failures (Redis, disk) pause and retry the same batch with exponential
    /// backoff, without a redelivery, so they never count towards poison; readiness is
    /// unhealthy while they last. Shutdown ends the wait and leaves the batch pending.
    /// </summary>
    public static Middleware RetryTransient(Func<Exception, bool> isTransient, TimeSpan maxBackoff, string group,
        LoopHealth health, ConsumerMetrics metrics, Action<Exception, TimeSpan> log)
    {
        var pipeline = new ResiliencePipelineBuilder().AddRetry(new RetryStrategyOptions
        {
            MaxRetryAttempts = int.MaxValue,
            Delay = TimeSpan.FromMilliseconds(Math.Min(100, maxBackoff.TotalMilliseconds)),
            MaxDelay = maxBackoff,
            BackoffType = DelayBackoffType.Exponential,
            UseJitter = true,
            ShouldHandle = args => ValueTask.FromResult(args.Outcome.Exception is { } e && isTransient(e)),
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
            catch (Exception e) when (isTransient(e))
            {
                metrics.Retried.Add(1, ConsumerMetrics.GroupTag(group));
                health.Unhealthy(group, $"{e.GetType().Name}: {e.Message}");
                log(e, TimeSpan.Zero);
            }
            return await pipeline.ExecuteAsync(token => next(batch, token), ct);
        };
    }

    /// <summary>A message that failed its last allowed delivery is dead-lettered with the error it failed with.</summary>
    public static Middleware DeadLetterAfter(int maxDeliveries) => next => async (batch, ct) =>
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

    /// <summary>Counts outcomes and times batches, per group.</summary>
    public static Middleware Metrics(ConsumerMetrics metrics, string group) => next => async (batch, ct) =>
    {
        var started = Stopwatch.GetTimestamp();
        var tag = ConsumerMetrics.GroupTag(group);
        metrics.Consumed.Add(batch.Count, tag);
        var outcomes = await next(batch, ct);
        var failed = outcomes.Count(o => o.Kind == OutcomeKind.Retry);
        if (failed > 0)
        {
            metrics.Failed.Add(failed, tag);
        }
        metrics.BatchDuration.Record(Stopwatch.GetElapsedTime(started).TotalMilliseconds, tag);
        return outcomes;
    };

    /// <summary>
    /// One consumer span per batch, linked to the trace of each message's producer request
    /// (the <c>traceparent</c> ingest stored in the entry), and one span per message in its
    /// producer's trace, so that trace shows this group's work on the event.
    /// </summary>
    public static Middleware Tracing(string group) => next => async (batch, ct) =>
    {
        if (!Activities.HasListeners())
        {
            return await next(batch, ct);
        }
        var links = new List<ActivityLink>();
        foreach (var message in batch)
        {
            if (StreamTracing.TryGetProducer(message.Entry, out var producer))
            {
                links.Add(new ActivityLink(producer));
            }
        }
        var started = DateTimeOffset.UtcNow;
        IReadOnlyList<MessageOutcome> outcomes;
        using (var activity = Activities.StartActivity(ActivityKind.Consumer, parentContext: default, links: links, name: $"{group} process batch"))
        {
            activity?.SetTag("messaging.system", "redis");
            activity?.SetTag("messaging.consumer.group.name", group);
            activity?.SetTag("messaging.batch.message_count", batch.Count);
            outcomes = await next(batch, ct);
            StreamTracing.RecordPerEntry(Activities, $"{group} process", [.. batch.Select(m => m.Entry)], started, activity?.Context ?? default,
                (span, i) =>
                {
                    span.SetTag("messaging.consumer.group.name", group);
                    span.SetTag("arena.outcome", outcomes[i].Kind.ToString());
                });
        }
        return outcomes;
    };
}
