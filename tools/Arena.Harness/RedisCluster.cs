using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using StackExchange.Redis;

namespace Arena.Harness;

/// <summary>
/// A throwaway Redis Cluster on loopback: three masters and three replicas (AOF, fsync on
/// every write), joined by <c>redis-cli --cluster create</c>.
/// </summary>
public sealed class RedisCluster : IRedisTarget, IAsyncDisposable
{
    private readonly RedisProcess[] _nodes;

    private RedisCluster(RedisProcess[] nodes) => _nodes = nodes;

    public string Configuration => string.Join(',', _nodes.Select(n => n.Configuration));

    public static async Task<RedisCluster> StartAsync()
    {
        var ports = BusPorts(6);
        var cluster = new RedisCluster(await Task.WhenAll(ports.Select(port => RedisProcess.StartAsync("always", port,
            "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "5000"))));
        try
        {
            var create = new ProcessStartInfo("redis-cli") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var arg in (string[])["--cluster", "create", .. ports.Select(p => $"127.0.0.1:{p}"), "--cluster-replicas", "1", "--cluster-yes"])
            {
                create.ArgumentList.Add(arg);
            }
            using var cli = Process.Start(create) ?? throw new InvalidOperationException("redis-cli did not start");
            var output = await cli.StandardOutput.ReadToEndAsync() + await cli.StandardError.ReadToEndAsync();
            await cli.WaitForExitAsync();
            if (cli.ExitCode != 0)
            {
                throw new InvalidOperationException($"redis-cli --cluster create failed:\n{output}");
            }
            await Repo.UntilAsync(cluster.ReadyAsync, "the cluster to serve every slot with a replica per master", TimeSpan.FromSeconds(60));
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    private async Task<bool> ReadyAsync()
    {
        var replicas = 0;
        foreach (var node in _nodes)
        {
            var server = node.Client.GetServer(node.Configuration);
            if (!((string?)await server.ExecuteAsync("CLUSTER", "INFO") ?? "").Contains("cluster_state:ok", StringComparison.Ordinal))
            {
                return false;
            }
            var replication = (await server.InfoAsync("replication")).SelectMany(g => g).ToDictionary(p => p.Key, p => p.Value);
            replicas += replication.GetValueOrDefault("master_link_status") == "up" ? 1 : 0;
        }
        return replicas == 3;
    }

    /// <summary>Free loopback ports whose cluster bus port (port + 10000) is free too.</summary>
    public static int[] BusPorts(int count)
    {
        var ports = new List<int>();
        for (var port = Random.Shared.Next(20_000, 40_000); ports.Count < count; port++)
        {
            if (IsFree(port) && IsFree(port + 10_000))
            {
                ports.Add(port);
            }
        }
        return [.. ports];
    }

    private static bool IsFree(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var node in _nodes)
        {
            await node.DisposeAsync();
        }
    }
}
