using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;

namespace Arena.Pipeline.Tests.Infrastructure;

/// <summary>A service running as a real child process on a free loopback port.</summary>
public sealed class ServiceProcess : IAsyncDisposable
{
    /// <summary>Output lines kept: enough for a test to search everything a short run at trace level logged.</summary>
    private const int MaxLines = 4000;

    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();
    private readonly ITestOutputHelper _log;

    private ServiceProcess(string name, Process process, int port, ITestOutputHelper log)
    {
        Name = name;
        _process = process;
        Port = port;
        _log = log;
        BaseAddress = new Uri($"http://127.0.0.1:{port}");
        Http = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
    }

    public string Name { get; }
    public int Port { get; }
    public Uri BaseAddress { get; }
    public HttpClient Http { get; }
    public int ProcessId => _process.Id;
    public bool HasExited => _process.HasExited;
    public int ExitCode => _process.ExitCode;
    public string Output => string.Join('\n', _output);

    public static ServiceProcess Ingest(IRedisDeployment redis, ITestOutputHelper log, IDictionary<string, string>? settings = null) =>
        Start("ingest", Paths.Binary("services/ingest", "Arena.Ingest"), With(settings, ("Arena__Redis", redis.Configuration)), log);

    public static ServiceProcess Persister(IRedisDeployment redis, string dataDir, ITestOutputHelper log, IDictionary<string, string>? settings = null) =>
        Start("persister", Paths.Binary("services/persister", "Arena.Persister"),
            With(settings, ("Arena__Redis", redis.Configuration), ("Arena__DataDir", dataDir), ("Persister__ConsumerName", "persister-test")), log);

    public static ServiceProcess Ranker(IRedisDeployment redis, string dataDir, ITestOutputHelper log, IDictionary<string, string>? settings = null) =>
        Start("ranker", Paths.Binary("services/ranker", "Arena.Ranker"),
            With(settings, ("Arena__Redis", redis.Configuration), ("Arena__DataDir", dataDir), ("Ranker__RecomputeDebounce", "00:00:00.100"),
                ("Ranker__ClaimMinIdle", "00:00:01"), ("Ranker__ClaimInterval", "00:00:00.200")), log);

    /// <param name="port">A port to listen on, e.g. a killed gateway's, so that clients reconnect to its successor; a free one by default.</param>
    public static ServiceProcess Gateway(IRedisDeployment redis, ITestOutputHelper log, ServiceProcess? persister = null, IDictionary<string, string>? settings = null,
        int? port = null) =>
        Launch("sse-gateway", Paths.Binary("services/sse-gateway", "Arena.SseGateway"),
            With(settings, ("Arena__Redis", redis.Configuration),
                ("SseGateway__PersisterUrl", persister?.BaseAddress.ToString() ?? "http://127.0.0.1:1")), log, port ?? FreePort.Next(), []);

    public static ServiceProcess Start(string name, string dll, IDictionary<string, string> environment, ITestOutputHelper log, params string[] args) =>
        Launch(name, dll, environment, log, FreePort.Next(), args);

    private static ServiceProcess Launch(string name, string dll, IDictionary<string, string> environment, ITestOutputHelper log, int port, string[] args)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.ArgumentList.Add(dll);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }
        start.Environment["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}";
        start.Environment["DOTNET_ENVIRONMENT"] = "Production";
        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }
        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        var service = new ServiceProcess(name, process, port, log);
        process.OutputDataReceived += (_, e) => service.Capture(e.Data);
        process.ErrorDataReceived += (_, e) => service.Capture(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return service;
    }

    private static Dictionary<string, string> With(IDictionary<string, string>? settings, params (string Key, string Value)[] defaults)
    {
        var all = defaults.ToDictionary(d => d.Key, d => d.Value);
        foreach (var (key, value) in settings ?? new Dictionary<string, string>())
        {
            all[key] = value;
        }
        return all;
    }

    private void Capture(string? line)
    {
        if (line is null)
        {
            return;
        }
        _output.Enqueue(line);
        while (_output.Count > MaxLines && _output.TryDequeue(out _))
        {
        }
    }

    public async Task<ServiceProcess> WaitReadyAsync(TimeSpan? timeout = null)
    {
        await Wait.UntilAsync(async () =>
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"{Name} exited with {_process.ExitCode} before it was ready:\n{Output}");
            }
            try
            {
                using var response = await Http.GetAsync("/readyz");
                return response.IsSuccessStatusCode;
            }
            catch (HttpRequestException)
            {
                return false;
            }
        }, $"{Name} to be ready", timeout);
        return this;
    }

    /// <summary>SIGKILL: no shutdown code runs.</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
        }
        await _process.WaitForExitAsync();
    }

    /// <summary>SIGTERM: the host shuts down gracefully.</summary>
    public void Terminate()
    {
        using var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
    }

    /// <summary>The process's resident memory (VmRSS), in bytes.</summary>
    public long ResidentBytes()
    {
        var line = File.ReadLines($"/proc/{_process.Id}/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return long.Parse(line["VmRSS:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
    }

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cancel.Token);
        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        if (!_process.HasExited)
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }
        _log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"--- {Name} (exit {_process.ExitCode}), last lines ---"));
        foreach (var line in _output.TakeLast(40))
        {
            _log.WriteLine(line);
        }
        _process.Dispose();
    }
}
