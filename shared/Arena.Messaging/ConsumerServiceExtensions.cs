using Arena.ServiceDefaults;
using Microsoft.Extensions.Configuration;
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
    /// tracing, metrics and the <see cref="ErrorPolicy"/> (see <see cref="ConsumerPipeline"/>).
    /// </summary>
    /// <param name="isTransient">Failures of the service's own dependencies (e.g. its store) to pause on rather than count as poison (rule 1 of <see cref="ErrorPolicy"/>).</param>
    /// <param name="linger">The service's <see cref="ConsumerOptions.Linger"/> while its section sets none.</param>
    /// <param name="maxBatchSize">The service's <see cref="ConsumerOptions.MaxBatchSize"/> while its section sets neither it
    /// nor <see cref="ConsumerOptions.BatchSize"/> (a batch size set on its own stays fixed).</param>
    public static IServiceCollection AddStreamConsumer<THandler>(this IServiceCollection services, string section, string group,
        Func<Exception, bool>? isTransient = null, TimeSpan linger = default, int maxBatchSize = 0)
        where THandler : class, IBatchHandler
    {
        services.AddValidatedOptions<ConsumerOptions>(section).PostConfigure<IConfiguration>((o, configuration) =>
        {
            var settings = configuration.GetSection(section);
            o.Group = string.IsNullOrEmpty(o.Group) ? group : o.Group;
            o.ConsumerName = string.IsNullOrEmpty(o.ConsumerName) ? ConsumerOptions.DefaultConsumerName(o.Group) : o.ConsumerName;
            o.Linger = settings[nameof(ConsumerOptions.Linger)] is null ? linger : o.Linger;
            o.MaxBatchSize = settings[nameof(ConsumerOptions.MaxBatchSize)] is null && settings[nameof(ConsumerOptions.BatchSize)] is null
                ? maxBatchSize
                : o.MaxBatchSize;
        });
        services.AddSingleton<ConsumerMetrics>();
        services.AddSingleton<THandler>();
        services.AddHostedService<StreamMonitor>();
        services.AddHostedService(sp => new ConsumerHost(sp, sp.GetRequiredService<THandler>(), new ErrorPolicy(isTransient)));
        return services;
    }

    private sealed class ConsumerHost(IServiceProvider services, IBatchHandler handler, ErrorPolicy policy) : BackgroundService
    {
        protected override Task ExecuteAsync(CancellationToken stoppingToken)
        {
            var options = services.GetRequiredService<IOptions<ConsumerOptions>>().Value;
            var consumer = ConsumerPipeline.Create(
                services.GetRequiredService<IConnectionMultiplexer>(),
                options,
                services.GetRequiredService<IOptions<ArenaOptions>>().Value.Partitions,
                handler.HandleAsync,
                policy,
                services.GetRequiredService<ConsumerMetrics>(),
                services.GetRequiredService<LoopHealth>(),
                services.GetRequiredService<TimeProvider>(),
                services.GetRequiredService<ILoggerFactory>().CreateLogger($"Arena.Consumer.{options.Group}"),
                services.GetServices<Middleware>());
            // Start the loop off the host's start-up path; a crash in it stops the host.
            return Task.Run(() => consumer.RunAsync(stoppingToken), CancellationToken.None);
        }
    }
}
