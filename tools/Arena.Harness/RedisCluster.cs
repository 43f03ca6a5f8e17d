using System.Globalization;

namespace Arena.Harness;

/// <summary>
/// A throwaway Redis Cluster on loopback: three masters and three replicas, redis-servers in
/// cluster mode (AOF, fsync on every write) joined by <c>redis-cli --cluster create</c>. A node
/// can be killed with SIGKILL; a replica takes over its slots after the node timeout, and the
/// node restarted on its folder rejoins as a replica.
/// </summary>
public sealed class RedisCluster : IRedisTarget, IAsyncDisposable
{
    public static readonly TimeSpan DefaultNodeTimeout = TimeSpan.FromSeconds(5);

    private const int Masters = 3;

    private RedisCluster(IReadOnlyList<RedisProcess> nodes)
    {
        Nodes = nodes;
        Configuration = string.Join(',', nodes.Select(n => n.Configuration));
    }

    public IReadOnlyList<RedisProcess> Nodes { get; }

    /// <summary>StackExchange.Redis configuration string naming every node.</summary>
    public string Configuration { get; }

    /// <param name="nodeTimeout">How long a node may be unreachable before the others fail it over; <see cref="DefaultNodeTimeout"/> when null.</param>
    public static async Task<RedisCluster> StartAsync(TimeSpan? nodeTimeout = null)
    {
        var timeout = nodeTimeout ?? DefaultNodeTimeout;
        var ports = FreePort.WithBusPorts(2 * Masters);
        // A replica takes over however long it was cut off from its master (validity factor 0).
        var nodes = await Task.WhenAll(ports.Select(port => RedisProcess.StartAsync("always", port,
            "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
            "--cluster-node-timeout", ((long)timeout.TotalMilliseconds).ToString(CultureInfo.InvariantCulture),
            "--cluster-replica-validity-factor", "0")));
        var cluster = new RedisCluster(nodes);
        try
        {
            var (exit, text) = await Command.RunAsync("redis-cli",
                ["--cluster", "create", .. ports.Select(p => $"127.0.0.1:{p}"), "--cluster-replicas", "1", "--cluster-yes"]);
            if (exit != 0)
            {
                throw new InvalidOperationException($"redis-cli --cluster create failed:\n{text}");
            }
            await cluster.WaitHealthyAsync();
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    /// <summary>The live master that serves <paramref name="key"/>'s slot.</summary>
    public async Task<RedisProcess> MasterOfAsync(string key)
    {
        var slot = int.Parse(await LiveNode().CliAsync("CLUSTER", "KEYSLOT", key), CultureInfo.InvariantCulture);
        foreach (var fields in await ClusterNodesAsync(LiveNode()))
        {
            if (fields[2].Contains("master", StringComparison.Ordinal) && !fields[2].Contains("fail", StringComparison.Ordinal)
                && fields.Skip(8).Any(range => InRange(range, slot)))
            {
                var port = int.Parse(fields[1].Split('@')[0].Split(':')[1], CultureInfo.InvariantCulture);
                return Nodes.Single(n => n.Port == port);
            }
        }
        throw new InvalidOperationException($"no live master serves {key}");
    }

    /// <summary>
    /// Waits until every slot is served by a live master and every live master has a live
    /// replica attached and in sync (a restarted node has rejoined as a replica).
    /// </summary>
    public Task WaitHealthyAsync(TimeSpan? timeout = null) => Wait.UntilAsync(async () =>
    {
        try
        {
            var live = Nodes.Where(n => n.IsRunning).ToList();
            foreach (var node in live)
            {
                if (!(await node.CliAsync("CLUSTER", "INFO")).Contains("cluster_state:ok", StringComparison.Ordinal))
                {
                    return false;
                }
            }
            var nodes = (await ClusterNodesAsync(live[0])).Where(f => !f[2].Contains("fail", StringComparison.Ordinal)).ToList();
            var masters = nodes.Where(f => f[2].Contains("master", StringComparison.Ordinal) && f.Length > 8).Select(f => f[0]).ToList();
            var replicated = nodes.Where(f => f[2].Contains("slave", StringComparison.Ordinal) && f[7] == "connected").Select(f => f[3]).ToHashSet();
            return masters.Count == Masters && masters.All(replicated.Contains) && await ReplicasInSyncAsync(live);
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }, "the cluster to serve every slot with a replica per master", timeout ?? TimeSpan.FromSeconds(60));

    /// <summary>The lines of CLUSTER NODES, split into fields: id, address, flags, master, …, link state, slots.</summary>
    private static async Task<List<string[]>> ClusterNodesAsync(RedisProcess node) =>
        [.. (await node.CliAsync("CLUSTER", "NODES")).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(' '))];

    private static async Task<bool> ReplicasInSyncAsync(IEnumerable<RedisProcess> live)
    {
        foreach (var node in live)
        {
            var replication = await node.CliAsync("INFO", "replication");
            if (replication.Contains("role:slave", StringComparison.Ordinal) && !replication.Contains("master_link_status:up", StringComparison.Ordinal))
            {
                return false;
            }
        }
        return true;
    }

    private RedisProcess LiveNode() => Nodes.First(n => n.IsRunning);

    private static bool InRange(string range, int slot)
    {
        if (range.StartsWith('['))
        {
            return false;
        }
        var bounds = range.Split('-');
        var low = int.Parse(bounds[0], CultureInfo.InvariantCulture);
        var high = bounds.Length > 1 ? int.Parse(bounds[1], CultureInfo.InvariantCulture) : low;
        return slot >= low && slot <= high;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var node in Nodes)
        {
            await node.DisposeAsync();
        }
    }
}
