using System.Globalization;
using Arena.Contracts;
using Arena.Harness;
using StackExchange.Redis;

namespace Arena.Chaos;

/// <summary>
/// Redis (AOF in the run's fsync mode) and the four services as real processes, wired as
/// <c>make run</c> wires them, with the faults the plan calls for.
/// </summary>
public sealed class ChaosPipeline : IAsyncDisposable
{
    /// <summary>The group of the fresh ranker that recomputes the leaderboard after the run; created up front so trimming keeps the stream for it.</summary>
    public const string RecomputeGroup = "ranker-recompute";

    /// <summary>
    /// DuckDB's memory limit in a soak, as an operator of a small machine sets it: without one,
    /// DuckDB keeps what it wrote cached up to 80% of the machine's memory and a consumer's
    /// memory grows with its file for as long as the soak could run.
    /// </summary>
    public const string SoakDuckDbMemoryLimit = "128MB";

    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(90);

    private readonly Dictionary<string, ServiceProcess> _services = [];

    private ChaosPipeline(RedisProcess redis) => Redis = redis;

    public RedisProcess Redis { get; }
    public ServiceProcess this[string name] => _services[name];
    public IDatabase Db => Redis.Client.GetDatabase();

    /// <summary>Redis and ingest only: the throughput probe runs before any consumer exists.</summary>
    public static async Task<ChaosPipeline> StartIngestAsync(string appendFsync)
    {
        var pipeline = new ChaosPipeline(await RedisProcess.StartAsync(appendFsync));
        pipeline._services[Services.Ingest] = await ServiceProcess.StartAsync(Services.Ingest, pipeline.Redis);
        return pipeline;
    }

    /// <summary>
    /// The consumers and the gateway, on a stream that holds nothing yet. A chaos run keeps the
    /// whole stream for the recompute; a soak lets it be trimmed as in production, or Redis's
    /// memory would grow with every event. A soak holds each DuckDB to
    /// <see cref="SoakDuckDbMemoryLimit"/>, and the gateway holds the machine's own address to
    /// the per-client limit, which the SSE clients stay within and the flood goes beyond.
    /// </summary>
    public async Task StartConsumersAsync(ChaosOptions options)
    {
        if (!options.Soak)
        {
            await Db.StreamCreateConsumerGroupAsync(StreamKeys.Events(0), RecomputeGroup, "0", createStream: true);
        }
        // Fixed consumer names: a restarted instance re-reads its own pending entries at once.
        _services[Services.Persister] = await ServiceProcess.StartAsync(Services.Persister, Redis, Consumer("Persister", "persister-chaos", options.Soak
            ? [("Persister__DuckDbMemoryLimit", SoakDuckDbMemoryLimit)]
            : [("Persister__BoundGroups", $"{StreamKeys.PersisterGroup},ranker,{RecomputeGroup}")]));
        _services[Services.Ranker] = await ServiceProcess.StartAsync(Services.Ranker, Redis, Consumer("Ranker", "ranker-chaos", options.Soak
            ? [("Ranker__DuckDbMemoryLimit", SoakDuckDbMemoryLimit)]
            : []));
        var gateway = options.Soak
            ? new Dictionary<string, string>
            {
                ["SseGateway__SharedAddresses"] = "",
                ["SseGateway__MaxConnectionsPerClient"] = HostileClients.ConnectionsPerClient(options).ToString(CultureInfo.InvariantCulture),
            }
            : [];
        _services[Services.Gateway] = await ServiceProcess.StartAsync(Services.Gateway, Redis, new Dictionary<string, string>(gateway)
        {
            ["SseGateway__PersisterUrl"] = this[Services.Persister].Url.ToString(),
            ["SseGateway__RankerUrl"] = this[Services.Ranker].Url.ToString(),
        });
    }

    /// <summary>A second ranker with an empty data folder and a group of its own, reading the whole stream.</summary>
    public Task<ServiceProcess> StartFreshRankerAsync() =>
        ServiceProcess.StartAsync(Services.Ranker, Redis, Consumer("Ranker", "ranker-recompute", ("Ranker__Group", RecomputeGroup)));

    // Claims after 2 s instead of 30 s so entries of a killed consumer do not hold the drain up.
    private static Dictionary<string, string> Consumer(string section, string name, params (string Key, string Value)[] more)
    {
        var settings = new Dictionary<string, string>
        {
            [$"{section}__ConsumerName"] = name,
            [$"{section}__ClaimMinIdle"] = "00:00:02",
            [$"{section}__ClaimInterval"] = "00:00:00.500",
            [$"{section}__MaxBackoff"] = "00:00:01",
        };
        foreach (var (key, value) in more)
        {
            settings[key] = value;
        }
        return settings;
    }

    public async Task KillAndRestartAsync(string service, TimeSpan downtime)
    {
        await this[service].KillAsync();
        await Task.Delay(downtime);
        await this[service].RestartAsync(ReadyTimeout);
    }

    /// <summary>SIGTERM, a graceful exit, then a restart; returns the exit code.</summary>
    public async Task<int> TerminateAndRestartAsync(string service, TimeSpan downtime)
    {
        var exitCode = await this[service].TerminateAsync(TimeSpan.FromSeconds(60));
        await Task.Delay(downtime);
        await this[service].RestartAsync(ReadyTimeout);
        return exitCode;
    }

    public async Task RestartRedisAsync(TimeSpan downtime)
    {
        await Redis.KillAsync();
        await Task.Delay(downtime);
        await Redis.RestartAsync(ReadyTimeout);
    }

    /// <summary>Services whose process has exited though nothing stopped it.</summary>
    public IEnumerable<string> Exited() => _services.Where(s => s.Value.HasExited).Select(s => s.Key);

    /// <summary>SIGTERM every service, the persister last (its DuckDB file is read afterwards); the exit code of each.</summary>
    public async Task<IReadOnlyDictionary<string, int>> StopAsync()
    {
        var exitCodes = new Dictionary<string, int>();
        foreach (var name in (string[])[Services.Ingest, Services.Gateway, Services.Ranker, Services.Persister])
        {
            if (_services.TryGetValue(name, out var service) && !service.HasExited)
            {
                exitCodes[name] = await service.TerminateAsync(TimeSpan.FromSeconds(60));
            }
        }
        return exitCodes;
    }

    /// <summary>Each service's last lines of output, one file per service in <paramref name="dir"/>: where a failed check's cause shows.</summary>
    public void WriteLogs(string dir)
    {
        Directory.CreateDirectory(dir);
        foreach (var (name, service) in _services)
        {
            File.WriteAllLines(Path.Combine(dir, name + ".log"), service.Lines);
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var service in _services.Values)
        {
            await service.DisposeAsync();
        }
        await Redis.DisposeAsync();
    }
}
