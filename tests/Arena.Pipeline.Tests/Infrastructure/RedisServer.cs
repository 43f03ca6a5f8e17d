using System.Diagnostics;
using StackExchange.Redis;
using Testcontainers.Redis;

namespace Arena.Pipeline.Tests.Infrastructure;

/// <summary>What the services are given to reach Redis: one server or a cluster.</summary>
public interface IRedisDeployment
{
    /// <summary>StackExchange.Redis configuration string.</summary>
    string Configuration { get; }
}

/// <summary>
/// A real Redis for one test: a Testcontainers container when a Docker engine answers,
/// otherwise a local <c>redis-server</c> on a free loopback port in a temp folder. Both
/// run with AOF and <c>appendfsync always</c>.
/// </summary>
public sealed class RedisServer : IRedisDeployment, IAsyncDisposable
{
    // Decided by the first start: a Docker engine that fails once is not tried again.
    private static bool? _dockerAvailable;

    private readonly RedisContainer? _container;
    private readonly string? _dir;
    private readonly string[] _extraArgs = [];
    private Process? _process;

    private RedisServer(RedisContainer container)
    {
        _container = container;
        Configuration = container.GetConnectionString();
        Mode = "Testcontainers.Redis";
    }

    private RedisServer(string dir, int port, params string[] extraArgs)
    {
        _dir = dir;
        _extraArgs = extraArgs;
        Port = port;
        Configuration = $"127.0.0.1:{port}";
        Mode = "local redis-server";
    }

    /// <summary>StackExchange.Redis configuration string.</summary>
    public string Configuration { get; }
    public string Mode { get; }
    public int Port { get; }

    public static async Task<RedisServer> StartAsync(ITestOutputHelper output)
    {
        RedisServer? server = null;
        if (_dockerAvailable != false)
        {
            server = await TryContainerAsync(output);
            _dockerAvailable = server is not null;
        }
        if (server is null)
        {
            server = new RedisServer(Paths.NewTempDir("redis"), FreePort.Next());
            await server.StartLocalAsync();
        }
        output.WriteLine($"Redis for this test: {server.Mode} at {server.Configuration}");
        return server;
    }

    /// <summary>A local redis-server with extra arguments (a cluster node, a replica), on the given port.</summary>
    public static async Task<RedisServer> StartLocalAsync(int port, params string[] extraArgs)
    {
        var server = new RedisServer(Paths.NewTempDir("redis"), port, extraArgs);
        await server.StartLocalAsync();
        return server;
    }

    private async Task StartLocalAsync()
    {
        var start = new ProcessStartInfo("redis-server")
        {
            ArgumentList =
            {
                "--bind", "127.0.0.1", "--port", Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
                "--dir", _dir!, "--appendonly", "yes", "--appendfsync", "always", "--save", "",
                "--logfile", Path.Combine(_dir!, "redis.log"),
            },
            UseShellExecute = false,
        };
        foreach (var arg in _extraArgs)
        {
            start.ArgumentList.Add(arg);
        }
        _process = Process.Start(start) ?? throw new InvalidOperationException("redis-server did not start");
        await Wait.UntilAsync(async () =>
        {
            try
            {
                await using var probe = await ConnectionMultiplexer.ConnectAsync($"{Configuration},connectTimeout=500,abortConnect=true");
                return true;
            }
            catch (RedisConnectionException)
            {
                return _process.HasExited ? throw new InvalidOperationException($"redis-server exited: {File.ReadAllText(Path.Combine(_dir!, "redis.log"))}") : false;
            }
        }, "redis-server to accept connections", TimeSpan.FromSeconds(20));
    }

    public bool IsRunning => _container is not null || _process is { HasExited: false };

    /// <summary>Runs one command with <c>redis-cli</c> against this local server; its reply as text.</summary>
    public async Task<string> CliAsync(params string[] command)
    {
        var (exit, text) = await Command.RunAsync("redis-cli", ["-p", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), .. command],
            timeout: TimeSpan.FromSeconds(10));
        return exit == 0 ? text.Trim() : throw new InvalidOperationException($"redis-cli {string.Join(' ', command)}: {text}");
    }

    /// <summary>Sends a signal to the local server, e.g. STOP to freeze it and CONT to let it go on.</summary>
    public async Task SignalAsync(string signal)
    {
        var pid = _process?.Id ?? throw new NotSupportedException("A container has no local process.");
        var (exit, text) = await Command.RunAsync("kill", [$"-{signal}", pid.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        if (exit != 0)
        {
            throw new InvalidOperationException($"kill -{signal} {pid}: {text}");
        }
    }

    public Task<ConnectionMultiplexer> ConnectAsync() =>
        ConnectionMultiplexer.ConnectAsync($"{Configuration},abortConnect=false,connectTimeout=2000");

    /// <summary>Kills Redis with SIGKILL (or stops the container): clients see it vanish.</summary>
    public async Task KillAsync()
    {
        if (_container is not null)
        {
            await _container.StopAsync();
            return;
        }
        _process?.Kill();
        await (_process?.WaitForExitAsync() ?? Task.CompletedTask);
    }

    /// <summary>Starts a killed local Redis again on the same port and folder: it reloads its AOF.</summary>
    public Task RestartAsync() =>
        _container is null ? StartLocalAsync() : throw new NotSupportedException("A container gets a new port on restart.");

    public async ValueTask DisposeAsync()
    {
        if (_container is not null)
        {
            await _container.DisposeAsync();
        }
        if (_process is { HasExited: false })
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }
        _process?.Dispose();
        if (_dir is not null)
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    private static async Task<RedisServer?> TryContainerAsync(ITestOutputHelper output)
    {
        RedisContainer? container = null;
        try
        {
            container = new RedisBuilder("redis:7.0")
                .WithCommand("--appendonly", "yes", "--appendfsync", "always")
                .Build();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
            await container.StartAsync(timeout.Token);
            return new RedisServer(container);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            output.WriteLine($"No usable Docker engine ({e.GetType().Name}: {e.Message.Split('\n')[0]}); using a local redis-server.");
            if (container is not null)
            {
                await container.DisposeAsync();
            }
            return null;
        }
    }
}
