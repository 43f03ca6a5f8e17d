using System.Globalization;
using Arena.Load;
using StackExchange.Redis;

namespace Arena.Chaos;

/// <summary>
/// What each AOF fsync mode costs: ingest flat out (batches of 100, 8 connections) for a few
/// seconds with <c>appendfsync always</c>, then with <c>everysec</c>, switched on the same
/// Redis with CONFIG SET. It runs before any consumer exists, and the stream is flushed
/// afterwards, so the chaos run starts from nothing.
/// </summary>
public static class ThroughputProbe
{
    public static async Task<IReadOnlyDictionary<string, double>> MeasureAsync(ChaosPipeline pipeline, ChaosOptions options, CancellationToken cancellationToken)
    {
        await using var admin = await ConnectionMultiplexer.ConnectAsync($"{pipeline.Redis.Configuration},allowAdmin=true");
        var server = admin.GetServer(pipeline.Redis.Configuration);
        var rates = new Dictionary<string, double>();
        foreach (var mode in (string[])["always", "everysec"])
        {
            await server.ConfigSetAsync("appendfsync", mode);
            var result = await new LoadRun(new LoadOptions
            {
                IngestUrl = pipeline[Services.Ingest].Url,
                Duration = TimeSpan.FromSeconds(options.ThroughputSeconds),
                Batch = 100,
                Runs = 10,
                Connections = 8,
                RunPrefix = string.Create(CultureInfo.InvariantCulture, $"chaos-probe-{mode}"),
            }).RunAsync(cancellationToken);
            rates[mode] = result.AcceptedPerSecond;
            Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"throughput: appendfsync {mode}: {result.AcceptedPerSecond:N0} accepted events/s flat out ({result.FailedRequests} failed requests)"));
        }
        await server.ConfigSetAsync("appendfsync", options.AppendFsync);
        await server.FlushAllDatabasesAsync();
        return rates;
    }
}
