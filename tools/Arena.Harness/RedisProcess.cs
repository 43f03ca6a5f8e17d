using System.Diagnostics;
using System.Globalization;
using StackExchange.Redis;

namespace Arena.Harness;

/// <summary>What a service is given to reach Redis: one server or a cluster.</summary>
public interface IRedisTarget
{
    /// <summary>StackExchange.Redis configuration string.</summary>
    string Configuration { get; }
}

/// <summary>
/// A throwaway redis-server on a free loopback port in a temp folder, with AOF in the chosen
/// fsync mode. It can be killed with SIGKILL and started again on the same port and folder,
/// where it replays its AOF.
/// </summary>
public sealed class RedisProcess : IRedisTarget, IAsyncDisposable
{
    private readonly string _dir;
    private readonly string _appendFsync;
    private readonly string[] _extraArgs;
    private Process _process;

    private RedisProcess(Process process, string dir, int port, string appendFsync, string[] extraArgs, ConnectionMultiplexer client)
    {
        _process = process;
        _dir = dir;
        _appendFsync = appendFsync;
        _extraArgs = extraArgs;
        Port = port;
        Client = client;
    }

    public int Port { get; }
    public string Configuration => string.Create(CultureInfo.InvariantCulture, $"127.0.0.1:{Port}");

    /// <summary>One multiplexer for the harness; it reconnects by itself after a restart.</summary>
    public ConnectionMultiplexer Client { get; }

    /// <param name="appendFsync"><c>always</c> (the pipeline's guarantee), <c>everysec</c>, or <c>no-aof</c> for raw limits.</param>
    /// <param name="port">The port to listen on; a free one when null.</param>
    /// <param name="extraArgs">More redis-server arguments (a cluster node's).</param>
    public static async Task<RedisProcess> StartAsync(string appendFsync = "always", int? port = null, params string[] extraArgs)
    {
        var dir = Directory.CreateTempSubdirectory("arena-redis-").FullName;
        port ??= Repo.FreePort();
        var process = Launch(dir, port.Value, appendFsync, extraArgs);
        ConnectionMultiplexer? client = null;
        await Repo.UntilAsync(async () =>
        {
            try
            {
                client = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{port},abortConnect=true,connectTimeout=500,syncTimeout=30000,asyncTimeout=30000,allowAdmin=true");
                return true;
            }
            catch (RedisConnectionException)
            {
                return process.HasExited ? throw new InvalidOperationException($"redis-server exited with {process.ExitCode}; see {dir}/redis.log") : false;
            }
        }, "redis-server to accept connections", TimeSpan.FromSeconds(20));
        return new RedisProcess(process, dir, port.Value, appendFsync, extraArgs, client!);
    }

    private static Process Launch(string dir, int port, string appendFsync, string[] extraArgs)
    {
        var start = new ProcessStartInfo("redis-server") { UseShellExecute = false, RedirectStandardOutput = true };
        foreach (var arg in (string[])["--bind", "127.0.0.1", "--port", port.ToString(CultureInfo.InvariantCulture), "--dir", dir, "--save", "",
                     "--logfile", Path.Combine(dir, "redis.log")])
        {
            start.ArgumentList.Add(arg);
        }
        foreach (var arg in (appendFsync == "no-aof" ? ["--appendonly", "no"] : (string[])["--appendonly", "yes", "--appendfsync", appendFsync]).Concat(extraArgs))
        {
            start.ArgumentList.Add(arg);
        }
        return Process.Start(start) ?? throw new InvalidOperationException("redis-server did not start");
    }

    /// <summary>SIGKILL: whatever the AOF has not fsynced is gone.</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
        }
        await _process.WaitForExitAsync();
    }

    /// <summary>Starts a killed server again on the same port and folder; returns once it answers after replaying its AOF.</summary>
    public async Task RestartAsync(TimeSpan timeout)
    {
        if (!_process.HasExited)
        {
            throw new InvalidOperationException("redis-server is still running");
        }
        _process.Dispose();
        _process = Launch(_dir, Port, _appendFsync, _extraArgs);
        await Repo.UntilAsync(async () =>
        {
            try
            {
                // PING answers LOADING (an error) until the AOF is replayed.
                await using var probe = await ConnectionMultiplexer.ConnectAsync($"{Configuration},abortConnect=true,connectTimeout=500");
                await probe.GetDatabase().PingAsync();
                return true;
            }
            catch (RedisException)
            {
                return _process.HasExited ? throw new InvalidOperationException($"redis-server exited with {_process.ExitCode}; see {_dir}/redis.log") : false;
            }
        }, "redis-server to answer after its restart", timeout);
    }

    public async ValueTask DisposeAsync()
    {
        await Client.DisposeAsync();
        if (!_process.HasExited)
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
        Directory.Delete(_dir, recursive: true);
    }
}
