using System.Diagnostics.Metrics;
using Arena.Contracts;
using Arena.Messaging;
using Arena.Persister.Snapshots;
using Arena.Persister.Storage;
using Arena.Storage;
using Arena.ServiceDefaults;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace Arena.Persister;

public static class PersisterExtensions
{
    public static WebApplicationBuilder AddPersister(this WebApplicationBuilder builder)
    {
        builder.Services.AddValidatedOptions<PersisterOptions>(PersisterOptions.Section);
        builder.Services.AddSingleton<PersisterMetrics>();
        builder.Services.AddValidatedOptions<DuckDbOptions>(PersisterOptions.Section);
        builder.Services.AddSingleton(sp =>
        {
            var store = EventStore.Open(sp.GetRequiredService<IOptions<ArenaOptions>>().Value.DataDir,
                sp.GetRequiredService<IOptions<DuckDbOptions>>().Value);
            store.File.SetCheckpointThreshold(Checkpointer.DuckDbThreshold(sp.GetRequiredService<IOptions<PersisterOptions>>().Value));
            store.File.ReportMemory(sp.GetRequiredService<IMeterFactory>(), PersisterMetrics.MeterName);
            store.File.ReportDisk(sp.GetRequiredService<IMeterFactory>(), PersisterMetrics.MeterName);
            return store;
        });
        builder.Services.AddSingleton<EventQueries>();
        builder.Services.AddSingleton<HistoryReads>();
        builder.Services.AddSingleton<EventChunks>();
        builder.Services.AddSingleton<ParquetExports>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<ParquetExports>());
        builder.Services.AddSingleton<ParquetSnapshots>();
        builder.Services.AddHostedService<SnapshotLoop>();
        builder.Services.AddHostedService<Checkpointer>();
        builder.Services.AddStreamConsumer<PersistHandler>(PersisterOptions.Section, StreamKeys.PersisterGroup,
            isTransient: DuckDbFile.IsTransient, linger: ConsumerOptions.ServiceLinger, maxBatchSize: PersisterOptions.BacklogBatchSize);
        builder.Services.AddValidatedOptions<TrimOptions>(PersisterOptions.Section);
        builder.Services.AddHostedService<StreamTrimmer>();
        builder.Services.AddHealthChecks().AddCheck<StoreHealthCheck>("store", tags: [ServiceDefaultsExtensions.ReadyTag]);
        return builder;
    }

    public static WebApplication MapPersister(this WebApplication app)
    {
        app.MapHistory();
        app.MapCommitted();
        app.MapExport();
        return app;
    }
}

internal sealed class StoreHealthCheck(EventStore store) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            using var connection = store.OpenReader();
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT 1";
            command.ExecuteScalar();
            return Task.FromResult(HealthCheckResult.Healthy(store.Path));
        }
        catch (Exception e) when (e is DuckDB.NET.Data.DuckDBException or IOException)
        {
            return Task.FromResult(HealthCheckResult.Unhealthy($"{store.Path}: {e.Message}"));
        }
    }
}
