using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using StackExchange.Redis;

namespace Arena.Bench;

/// <summary>Where the repository is: the benchmarks start the services from their build output.</summary>
internal static class Repo
{
    public static readonly string Root = FindRoot(AppContext.BaseDirectory);

    private static string FindRoot(string dir) =>
        File.Exists(Path.Combine(dir, "Arena.slnx")) ? dir
        : Directory.GetParent(dir) is { } parent ? FindRoot(parent.FullName)
        : throw new InvalidOperationException("Arena.slnx not found above " + AppContext.BaseDirectory);

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public static async Task UntilAsync(Func<Task<bool>> condition, string what, TimeSpan timeout)
    {
        var deadline = Stopwatch.StartNew();
        while (!await condition())
        {
            if (deadline.Elapsed > timeout)
            {
                throw new TimeoutException($"{what} did not happen within {timeout.TotalSeconds:F0} s");
            }
            await Task.Delay(50);
        }
    }
}

/// <summary>What a service is given to reach Redis: one server or a cluster.</summary>
internal interface IBenchRedis
{
    string Configuration { get; }
}

/// <summary>A throwaway redis-server on a free loopback port in a temp folder, with AOF fsynced on every write.</summary>
internal sealed class BenchRedis : IBenchRedis, IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _dir;

    private BenchRedis(Process process, string dir, int port, ConnectionMultiplexer client)
    {
        _process = process;
        _dir = dir;
        Port = port;
        Client = client;
    }

    public int Port { get; }
    public string Configuration => string.Create(CultureInfo.InvariantCulture, $"127.0.0.1:{Port}");
    public ConnectionMultiplexer Client { get; }

    /// <param name="appendFsync"><c>always</c> (the pipeline's guarantee), <c>everysec</c>, or <c>no-aof</c> for raw limits.</param>
    /// <param name="port">The port to listen on; a free one when null.</param>
    /// <param name="extraArgs">More redis-server arguments (a cluster node's).</param>
    public static async Task<BenchRedis> StartAsync(string appendFsync = "always", int? port = null, params string[] extraArgs)
    {
        var dir = Directory.CreateTempSubdirectory("arena-bench-redis-").FullName;
        port ??= Repo.FreePort();
        var start = new ProcessStartInfo("redis-server") { UseShellExecute = false, RedirectStandardOutput = true };
        foreach (var arg in (string[])["--bind", "127.0.0.1", "--port", port.Value.ToString(CultureInfo.InvariantCulture), "--dir", dir, "--save", "",
                     "--logfile", Path.Combine(dir, "redis.log")])
        {
            start.ArgumentList.Add(arg);
        }
        foreach (var arg in (appendFsync == "no-aof" ? ["--appendonly", "no"] : (string[])["--appendonly", "yes", "--appendfsync", appendFsync]).Concat(extraArgs))
        {
            start.ArgumentList.Add(arg);
        }
        var process = Process.Start(start) ?? throw new InvalidOperationException("redis-server did not start");
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
                return false;
            }
        }, "redis-server to accept connections", TimeSpan.FromSeconds(20));
        return new BenchRedis(process, dir, port.Value, client!);
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

/// <summary>One service of the pipeline as a child process, started from its build output.</summary>
internal sealed class BenchService : IAsyncDisposable
{
    private readonly Process _process;

    private readonly string _dataDir;

    private BenchService(string name, Process process, Uri url, string dataDir)
    {
        Name = name;
        _process = process;
        _dataDir = dataDir;
        Url = url;
        Http = new HttpClient { BaseAddress = url, Timeout = TimeSpan.FromSeconds(30) };
    }

    public string Name { get; }
    public Uri Url { get; }
    public HttpClient Http { get; }

    private static readonly Dictionary<string, string> Assemblies = new()
    {
        ["ingest"] = "Arena.Ingest",
        ["persister"] = "Arena.Persister",
        ["ranker"] = "Arena.Ranker",
        ["sse-gateway"] = "Arena.SseGateway",
    };

    /// <summary>Starts <paramref name="name"/>, with a data folder of its own, and waits until <c>/readyz</c> answers 200.</summary>
    public static async Task<BenchService> StartAsync(string name, IBenchRedis redis, IDictionary<string, string>? settings = null)
    {
        var dll = Path.Combine(Repo.Root, "services", name, "bin", "Release", "net10.0", Assemblies[name] + ".dll");
        if (!File.Exists(dll))
        {
            throw new FileNotFoundException($"{dll} is missing: build the solution in Release first", dll);
        }
        var url = new Uri(string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{Repo.FreePort()}"));
        var start = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(dll);
        start.Environment["ASPNETCORE_URLS"] = url.ToString();
        start.Environment["Arena__Redis"] = redis.Configuration;
        var dataDir = Directory.CreateTempSubdirectory("arena-bench-data-").FullName;
        start.Environment["Arena__DataDir"] = dataDir;
        start.Environment["Logging__LogLevel__Default"] = "Warning";
        foreach (var (key, value) in settings ?? new Dictionary<string, string>())
        {
            start.Environment[key] = value;
        }
        var process = Process.Start(start) ?? throw new InvalidOperationException($"{name} did not start");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var service = new BenchService(name, process, url, dataDir);
        await Repo.UntilAsync(async () =>
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"{name} exited with {process.ExitCode} before it was ready");
            }
            try
            {
                using var response = await service.Http.GetAsync("/readyz");
                return response.IsSuccessStatusCode;
            }
            catch (HttpRequestException)
            {
                return false;
            }
        }, $"{name} to be ready", TimeSpan.FromSeconds(60));
        return service;
    }

    /// <summary>The most memory the process has held resident so far (VmHWM).</summary>
    public long PeakRssBytes()
    {
        var line = File.ReadLines($"/proc/{_process.Id}/status").First(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        if (!_process.HasExited)
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
        Directory.Delete(_dataDir, recursive: true);
    }
}
