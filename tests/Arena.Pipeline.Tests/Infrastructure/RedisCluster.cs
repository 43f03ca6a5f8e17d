using System.Globalization;
using StackExchange.Redis;

namespace Arena.Pipeline.Tests.Infrastructure;

/// <summary>
/// A real Redis Cluster on loopback: three masters and three replicas, local
/// <c>redis-server</c>s in cluster mode (AOF, <c>appendfsync always</c>) joined by
/// <c>redis-cli --cluster create</c>. A master can be killed with SIGKILL; its replica takes
/// over after the node timeout.
/// </summary>
public sealed class RedisCluster : IRedisDeployment, IAsyncDisposable
{
    /// <summary>How long a node may be unreachable before the others fail it over.</summary>
    public static readonly TimeSpan NodeTimeout = TimeSpan.FromSeconds(2);

    private readonly ITestOutputHelper _output;

    private RedisCluster(IReadOnlyList<RedisServer> nodes, ITestOutputHelper output)
    {
        Nodes = nodes;
        _output = output;
        Configuration = string.Join(',', nodes.Select(n => $"127.0.0.1:{n.Port}"));
    }

    public IReadOnlyList<RedisServer> Nodes { get; }

    /// <summary>StackExchange.Redis configuration string naming every node.</summary>
    public string Configuration { get; }

    public static async Task<RedisCluster> StartAsync(ITestOutputHelper output)
    {
        var ports = Arena.Harness.RedisCluster.BusPorts(6);
        var nodes = await Task.WhenAll(ports.Select(port => RedisServer.StartLocalAsync(port,
            "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
            "--cluster-node-timeout", ((long)NodeTimeout.TotalMilliseconds).ToString(CultureInfo.InvariantCulture),
            "--cluster-replica-validity-factor", "0")));
        var cluster = new RedisCluster(nodes, output);
        try
        {
            var (exit, text) = await Command.RunAsync("redis-cli",
                ["--cluster", "create", .. ports.Select(p => $"127.0.0.1:{p}"), "--cluster-replicas", "1", "--cluster-yes"]);
            if (exit != 0)
            {
                throw new InvalidOperationException($"redis-cli --cluster create failed:\n{text}");
            }
            await cluster.WaitHealthyAsync();
            output.WriteLine($"Redis Cluster for this test: {cluster.Configuration}");
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    public Task<ConnectionMultiplexer> ConnectAsync() =>
        ConnectionMultiplexer.ConnectAsync($"{Configuration},abortConnect=false,connectTimeout=2000");

    /// <summary>The node that is master of <paramref name="key"/>'s slot now, as a live node sees it.</summary>
    public async Task<RedisServer> MasterOfAsync(string key)
    {
        var slot = await LiveNode().CliAsync("CLUSTER", "KEYSLOT", key);
        foreach (var line in (await LiveNode().CliAsync("CLUSTER", "NODES")).Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var fields = line.Split(' ');
            if (fields[2].Contains("master", StringComparison.Ordinal) && !fields[2].Contains("fail", StringComparison.Ordinal)
                && fields.Skip(8).Any(range => InRange(range, int.Parse(slot, CultureInfo.InvariantCulture))))
            {
                var port = int.Parse(fields[1].Split('@')[0].Split(':')[1], CultureInfo.InvariantCulture);
                return Nodes.Single(n => n.Port == port);
            }
        }
        throw new InvalidOperationException($"no live master serves {key}");
    }

    /// <summary>
    /// Waits until every slot is served by a live master and every live master has a live
    /// replica attached (a restarted node has rejoined as a replica).
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
            var nodes = (await live[0].CliAsync("CLUSTER", "NODES")).Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Select(l => l.Split(' ')).Where(f => !f[2].Contains("fail", StringComparison.Ordinal)).ToList();
            var masters = nodes.Where(f => f[2].Contains("master", StringComparison.Ordinal) && f.Length > 8).Select(f => f[0]).ToList();
            var replicated = nodes.Where(f => f[2].Contains("slave", StringComparison.Ordinal) && f[7] == "connected").Select(f => f[3]).ToHashSet();
            return masters.Count == 3 && masters.All(replicated.Contains) && await ReplicasInSyncAsync(live);
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }, "the cluster to serve every slot with a replica per master", timeout ?? TimeSpan.FromSeconds(60));

    private static async Task<bool> ReplicasInSyncAsync(IEnumerable<RedisServer> live)
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

    private RedisServer LiveNode() => Nodes.First(n => n.IsRunning);

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
        _output.WriteLine("Redis Cluster stopped");
    }
}
