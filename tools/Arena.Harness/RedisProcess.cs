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

public static class RedisTargetExtensions
{
    /// <summary>A new client, which the caller disposes; it does not fail while Redis is away, it reconnects.</summary>
    public static Task<ConnectionMultiplexer> ConnectAsync(this IRedisTarget redis) =>
        ConnectionMultiplexer.ConnectAsync($"{redis.Configuration},abortConnect=false,connectTimeout=2000");
}

/// <summary>
/// A throwaway redis-server on a loopback port in a temp folder, with AOF in the chosen fsync
/// mode. It can be killed with SIGKILL, frozen with SIGSTOP, and started again on the same port
/// and folder, where it replays its AOF.
/// </summary>
public sealed class RedisProcess : IRedisTarget, IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(20);

    private readonly string[] _args;
    private readonly Lazy<ConnectionMultiplexer> _client;
    private Process _process;

    private RedisProcess(string dir, int port, string[] args)
    {
        Dir = dir;
        Port = port;
        _args = args;
        _process = Launch();
        _client = new(() => ConnectionMultiplexer.Connect($"{Configuration},abortConnect=false,connectTimeout=2000,syncTimeout=30000,asyncTimeout=30000,allowAdmin=true"));
    }

    public int Port { get; }

    /// <summary>The server's process id (its forks, such as an AOF rewrite, are its children).</summary>
    public int ProcessId => _process.Id;

    /// <summary>Its folder: the AOF, <c>nodes.conf</c> of a cluster node, and <c>redis.log</c>.</summary>
    public string Dir { get; }

    public string Configuration => string.Create(CultureInfo.InvariantCulture, $"127.0.0.1:{Port}");
    public bool IsRunning => !_process.HasExited;

    /// <summary>One client (with admin commands) owned by the server, made on first use; it reconnects by itself after a restart.</summary>
    public ConnectionMultiplexer Client => _client.Value;

    /// <param name="appendFsync"><c>always</c> (the pipeline's guarantee), <c>everysec</c>, or <c>no-aof</c> for raw limits.</param>
    /// <param name="port">The port to listen on; a free one when null.</param>
    /// <param name="extraArgs">More redis-server arguments (a cluster node's, a replica's, a memory limit).</param>
    public static async Task<RedisProcess> StartAsync(string appendFsync = "always", int? port = null, params string[] extraArgs)
    {
        var dir = Repo.NewTempDir("redis");
        var chosen = port ?? FreePort.Next();
        string[] args =
        [
            "--bind", "127.0.0.1", "--port", chosen.ToString(CultureInfo.InvariantCulture), "--dir", dir, "--save", "",
            "--logfile", Path.Combine(dir, "redis.log"),
            // As deployed: an expired dedupe bucket (a window's ids in one hash) is freed off Redis's main thread.
            "--lazyfree-lazy-expire", "yes",
            .. appendFsync == "no-aof" ? ["--appendonly", "no"] : (string[])["--appendonly", "yes", "--appendfsync", appendFsync],
            .. extraArgs,
        ];
        var server = new RedisProcess(dir, chosen, args);
        try
        {
            await server.WaitAnswersAsync("redis-server to accept connections", StartTimeout);
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    private Process Launch()
    {
        var start = new ProcessStartInfo("redis-server") { UseShellExecute = false };
        foreach (var arg in _args)
        {
            start.ArgumentList.Add(arg);
        }
        return Process.Start(start) ?? throw new InvalidOperationException("redis-server did not start");
    }

    /// <summary>Until PING answers: it answers LOADING (an error) until the AOF is replayed.</summary>
    private Task WaitAnswersAsync(string what, TimeSpan timeout) => Wait.UntilAsync(async () =>
    {
        try
        {
            await using var probe = await ConnectionMultiplexer.ConnectAsync($"{Configuration},abortConnect=true,connectTimeout=500");
            await probe.GetDatabase().PingAsync();
            return true;
        }
        catch (RedisException)
        {
            return _process.HasExited
                ? throw new InvalidOperationException($"redis-server exited with {_process.ExitCode}: {File.ReadAllText(Path.Combine(Dir, "redis.log"))}")
                : false;
        }
    }, what, timeout);

    /// <summary>Runs one command with <c>redis-cli</c> against this server; its reply as text.</summary>
    public async Task<string> CliAsync(params string[] command)
    {
        var (exit, text) = await Command.RunAsync("redis-cli", ["-p", Port.ToString(CultureInfo.InvariantCulture), .. command],
            timeout: TimeSpan.FromSeconds(10));
        return exit == 0 ? text.Trim() : throw new InvalidOperationException($"redis-cli {string.Join(' ', command)}: {text}");
    }

    /// <summary>Sends a signal to the server, e.g. STOP to freeze it and CONT to let it go on.</summary>
    public Task SignalAsync(string signal) => Command.SignalAsync(_process.Id, signal);

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
    public async Task RestartAsync(TimeSpan? timeout = null)
    {
        if (!_process.HasExited)
        {
            throw new InvalidOperationException("redis-server is still running");
        }
        _process.Dispose();
        _process = Launch();
        await WaitAnswersAsync("redis-server to answer after its restart", timeout ?? StartTimeout);
    }

    public async ValueTask DisposeAsync()
    {
        if (_client.IsValueCreated)
        {
            await _client.Value.DisposeAsync();
        }
        if (!_process.HasExited)
        {
            // With its forks: an AOF rewrite's child outlives its parent and would go on writing into the folder.
            var forks = ProcFs.ChildrenOf(_process.Id);
            _process.Kill();
            await _process.WaitForExitAsync();
            foreach (var fork in forks)
            {
                try
                {
                    using var child = Process.GetProcessById(fork);
                    child.Kill();
                    await child.WaitForExitAsync();
                }
                catch (Exception e) when (e is ArgumentException or InvalidOperationException)
                {
                    // It had already exited.
                }
            }
        }
        _process.Dispose();
        Directory.Delete(Dir, recursive: true);
    }
}
