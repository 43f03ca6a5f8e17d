using System.Globalization;
using Arena.Load;
using StackExchange.Redis;

namespace Arena.Chaos;

/// <summary>
/// What each AOF fsync mode costs: ingest flat out (batches of 100, 8 connections) with
/// <c>appendfsync always</c> and with <c>everysec</c>, switched on the same Redis with CONFIG
/// SET, alternating for three rounds and keeping each mode's median (the machine is shared and
/// noisy). It runs before any consumer exists, and everything is flushed afterwards, so the
/// chaos run starts from nothing.
/// </summary>
public static class ThroughputProbe
{
    private const int Rounds = 3;

    public static async Task<IReadOnlyDictionary<string, double>> MeasureAsync(ChaosPipeline pipeline, ChaosOptions options, CancellationToken cancellationToken)
    {
        await using var admin = await ConnectionMultiplexer.ConnectAsync($"{pipeline.Redis.Configuration},allowAdmin=true");
        var server = admin.GetServer(pipeline.Redis.Configuration);
        var rates = new Dictionary<string, List<double>> { ["always"] = [], ["everysec"] = [] };
        for (var round = 0; round < Rounds; round++)
        {
            foreach (var (mode, measured) in rates)
            {
                await server.ConfigSetAsync("appendfsync", mode);
                var result = await new LoadRun(new LoadOptions
                {
                    IngestUrl = pipeline[Services.Ingest].Url,
                    Duration = TimeSpan.FromSeconds(options.ThroughputSeconds),
                    Batch = 100,
                    Runs = 10,
                    Connections = 8,
                    RunPrefix = string.Create(CultureInfo.InvariantCulture, $"chaos-probe-{mode}-{round}"),
                }).RunAsync(cancellationToken);
                measured.Add(result.AcceptedPerSecond);
                Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"throughput: appendfsync {mode}: {result.AcceptedPerSecond:N0} accepted events/s flat out ({result.FailedRequests} failed requests)"));
            }
        }
        await server.ConfigSetAsync("appendfsync", options.AppendFsync);
        await server.FlushAllDatabasesAsync();
        return rates.ToDictionary(r => r.Key, r => Math.Round(r.Value.Order().ElementAt(Rounds / 2)));
    }
}
