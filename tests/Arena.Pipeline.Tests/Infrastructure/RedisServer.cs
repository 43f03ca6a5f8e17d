using Testcontainers.Redis;

namespace Arena.Pipeline.Tests.Infrastructure;

/// <summary>
/// A real Redis for one test: a Testcontainers container when a Docker engine answers,
/// otherwise a local redis-server (<see cref="RedisProcess"/>). Both run with AOF and
/// <c>appendfsync always</c>. What needs the process (redis-cli, a restart) needs the local one.
/// </summary>
public sealed class RedisServer : IRedisTarget, IAsyncDisposable
{
    // Decided by the first start: a Docker engine that fails once is not tried again.
    private static bool? _dockerAvailable;

    private readonly RedisContainer? _container;
    private readonly RedisProcess? _local;

    private RedisServer(RedisContainer container)
    {
        _container = container;
        Configuration = container.GetConnectionString();
        Mode = "Testcontainers.Redis";
    }

    private RedisServer(RedisProcess local)
    {
        _local = local;
        Configuration = local.Configuration;
        Mode = "local redis-server";
    }

    /// <summary>StackExchange.Redis configuration string.</summary>
    public string Configuration { get; }
    public string Mode { get; }

    private RedisProcess Local => _local ?? throw new NotSupportedException("A container has no local process.");

    public static async Task<RedisServer> StartAsync(ITestOutputHelper output)
    {
        RedisServer? server = null;
        if (_dockerAvailable != false)
        {
            server = await TryContainerAsync(output);
            _dockerAvailable = server is not null;
        }
        server ??= new RedisServer(await RedisProcess.StartAsync("always"));
        output.WriteLine($"Redis for this test: {server.Mode} at {server.Configuration}");
        return server;
    }

    /// <summary>Runs one command with <c>redis-cli</c> against the local server; its reply as text.</summary>
    public Task<string> CliAsync(params string[] command) => Local.CliAsync(command);

    /// <summary>Kills Redis with SIGKILL (or stops the container): clients see it vanish.</summary>
    public Task KillAsync() => _container is not null ? _container.StopAsync() : Local.KillAsync();

    /// <summary>Starts a killed local Redis again on the same port and folder: it reloads its AOF.</summary>
    public Task RestartAsync() =>
        _container is null ? Local.RestartAsync() : throw new NotSupportedException("A container gets a new port on restart.");

    public async ValueTask DisposeAsync()
    {
        if (_container is not null)
        {
            await _container.DisposeAsync();
        }
        if (_local is not null)
        {
            await _local.DisposeAsync();
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
