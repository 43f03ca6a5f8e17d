using Arena.ServiceDefaults;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Arena.Messaging;

public static class ConsumerServiceExtensions
{
    /// <summary>
    /// Runs <typeparamref name="THandler"/> as a member of <paramref name="group"/>, with options
    /// bound from <paramref name="section"/> and the middleware every consumer shares:
    /// tracing, metrics, dead-lettering after MaxDeliveries, transient retry.
    /// </summary>
    /// <param name="isTransient">Failures of the service's own dependencies (e.g. its store) to pause on rather than count as poison.</param>
    public static IServiceCollection AddStreamConsumer<THandler>(this IServiceCollection services, string section, string group,
        Func<Exception, bool>? isTransient = null)
        where THandler : class, IBatchHandler
    {
        services.AddValidatedOptions<ConsumerOptions>(section).PostConfigure(o =>
        {
            o.Group = string.IsNullOrEmpty(o.Group) ? group : o.Group;
            o.ConsumerName = string.IsNullOrEmpty(o.ConsumerName) ? ConsumerOptions.DefaultConsumerName(o.Group) : o.ConsumerName;
        });
        services.AddSingleton<ConsumerMetrics>();
        services.AddSingleton<THandler>();
        services.AddHostedService<StreamMonitor>();
        services.AddHostedService(sp => new ConsumerHost(sp, sp.GetRequiredService<THandler>(), GroupConsumer.Transient(isTransient)));
        return services;
    }

    private sealed class ConsumerHost(IServiceProvider services, IBatchHandler handler, Func<Exception, bool> isTransient) : BackgroundService
    {
        protected override Task ExecuteAsync(CancellationToken stoppingToken)
        {
            var options = services.GetRequiredService<IOptions<ConsumerOptions>>().Value;
            var metrics = services.GetRequiredService<ConsumerMetrics>();
            var health = services.GetRequiredService<LoopHealth>();
            var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger($"Arena.Consumer.{options.Group}");
            var pipeline = ((BatchHandler)handler.HandleAsync).Use(
                Middlewares.Tracing(options.Group),
                Middlewares.Metrics(metrics, options.Group),
                Middlewares.DeadLetterAfter(options.MaxDeliveries),
                Middlewares.RetryTransient(isTransient, options.MaxBackoff, options.Group, health, metrics,
                    (e, delay) => logger.LogWarning("Group {Group} retrying a batch in {Delay} ms after a transient failure: {Error}",
                        options.Group, (int)delay.TotalMilliseconds, e.Message)),
                Middlewares.FailuresAsRetry(isTransient));
            var consumer = new GroupConsumer(
                services.GetRequiredService<IConnectionMultiplexer>(),
                options,
                services.GetRequiredService<IOptions<ArenaOptions>>().Value.Partitions,
                pipeline,
                isTransient,
                metrics,
                health,
                services.GetRequiredService<TimeProvider>(),
                logger);
            // Start the loop off the host's start-up path; a crash in it stops the host.
            return Task.Run(() => consumer.RunAsync(stoppingToken), CancellationToken.None);
        }
    }
}
