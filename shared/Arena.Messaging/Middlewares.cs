using System.Diagnostics;
using Arena.Contracts;
using Arena.ServiceDefaults;

namespace Arena.Messaging;

/// <summary>
/// The cross-cutting behaviour of a consumer, each a wrapper around a <see cref="BatchHandler"/>;
/// the ones that apply the error rule are in <see cref="ErrorPolicy"/>.
/// </summary>
public static class Middlewares
{
    public static readonly ActivitySource Activities = new(ArenaTelemetry.MeterPrefix + "Consumers");

    public static BatchHandler Use(this BatchHandler handler, params Middleware[] middlewares) =>
        middlewares.Reverse().Aggregate(handler, (next, middleware) => middleware(next));

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
