using Arena.ServiceDefaults;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Arena.Messaging;

/// <summary>
/// The consumer as it ships, assembled in one place for the service host and for the
/// conformance suite alike: the handler inside tracing, metrics and the
/// <see cref="ErrorPolicy"/>'s middlewares, run by a <see cref="GroupConsumer"/>.
/// </summary>
public static class ConsumerPipeline
{
    /// <param name="inner">
    /// Middlewares next to the handler, inside the error policy: none in production; the test
    /// harness's fault injection registers one in the service's container.
    /// </param>
    public static GroupConsumer Create(IConnectionMultiplexer redis, ConsumerOptions options, int partitions, BatchHandler handler,
        ErrorPolicy policy, ConsumerMetrics metrics, LoopHealth health, TimeProvider time, ILogger logger, IEnumerable<Middleware>? inner = null)
    {
        var pipeline = handler.Use(
        [
            Middlewares.Tracing(options.Group),
            Middlewares.Metrics(metrics, options.Group),
            .. policy.Middlewares(options, health, metrics,
                (e, delay) => logger.LogWarning("Group {Group} retrying a batch in {Delay} ms after a transient failure: {Error}",
                    options.Group, (int)delay.TotalMilliseconds, e.Message)),
            .. inner ?? [],
        ]);
        return new GroupConsumer(redis, options, partitions, pipeline, policy, metrics, health, time, logger);
    }
}
