using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;

namespace Arena.Harness;

/// <summary>
/// One service of the pipeline as a child process, started from its build output with a data
/// folder and a port of its own. It can be killed (SIGKILL) or stopped (SIGTERM) and started
/// again with the same port, folder and settings.
/// </summary>
public sealed class ServiceProcess : IAsyncDisposable
{
    private const int OutputLines = 200;

    private static readonly Dictionary<string, string> Assemblies = new()
    {
        ["ingest"] = "Arena.Ingest",
        ["persister"] = "Arena.Persister",
        ["ranker"] = "Arena.Ranker",
        ["sse-gateway"] = "Arena.SseGateway",
    };

    private readonly string _dll;
    private readonly Dictionary<string, string> _environment;
    private readonly ConcurrentQueue<string> _output = new();
    private Process _process;

    private ServiceProcess(string name, string dll, Uri url, string dataDir, Dictionary<string, string> environment)
    {
        Name = name;
        _dll = dll;
        Url = url;
        DataDir = dataDir;
        _environment = environment;
        Http = new HttpClient { BaseAddress = url, Timeout = TimeSpan.FromSeconds(30) };
        _process = Launch();
    }

    public string Name { get; }
    public Uri Url { get; }
    public HttpClient Http { get; }
    public string DataDir { get; }
    public bool HasExited => _process.HasExited;

    /// <summary>The last lines the process wrote (stdout and stderr), for a report when something went wrong.</summary>
    public IReadOnlyList<string> LastOutput => [.. _output];

    /// <summary>Starts <paramref name="name"/>, with a data folder of its own, and waits until <c>/readyz</c> answers 200.</summary>
    public static async Task<ServiceProcess> StartAsync(string name, IRedisTarget redis, IDictionary<string, string>? settings = null)
    {
        var dll = Path.Combine(Repo.Root, "services", name, "bin", Repo.Configuration, "net10.0", Assemblies[name] + ".dll");
        if (!File.Exists(dll))
        {
            throw new FileNotFoundException($"{dll} is missing: build the solution in {Repo.Configuration} first", dll);
        }
        var url = new Uri(string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{Repo.FreePort()}"));
        var dataDir = Directory.CreateTempSubdirectory($"arena-{name}-data-").FullName;
        var environment = new Dictionary<string, string>
        {
            ["ASPNETCORE_URLS"] = url.ToString(),
            ["DOTNET_ENVIRONMENT"] = "Production",
            ["Arena__Redis"] = redis.Configuration,
            ["Arena__DataDir"] = dataDir,
            ["Logging__LogLevel__Default"] = "Warning",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string>())
        {
            environment[key] = value;
        }
        var service = new ServiceProcess(name, dll, url, dataDir, environment);
        await service.WaitReadyAsync(TimeSpan.FromSeconds(60));
        return service;
    }

    private Process Launch()
    {
        var start = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(_dll);
        foreach (var (key, value) in _environment)
        {
            start.Environment[key] = value;
        }
        var process = Process.Start(start) ?? throw new InvalidOperationException($"{Name} did not start");
        process.OutputDataReceived += (_, e) => Capture(e.Data);
        process.ErrorDataReceived += (_, e) => Capture(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private void Capture(string? line)
    {
        if (line is null)
        {
            return;
        }
        _output.Enqueue(line);
        while (_output.Count > OutputLines && _output.TryDequeue(out _))
        {
        }
    }

    public async Task WaitReadyAsync(TimeSpan timeout) =>
        await Repo.UntilAsync(async () =>
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"{Name} exited with {_process.ExitCode} before it was ready:\n{string.Join('\n', _output.TakeLast(20))}");
            }
            try
            {
                using var response = await Http.GetAsync("/readyz");
                return response.IsSuccessStatusCode;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                return false;
            }
        }, $"{Name} to be ready", timeout);

    /// <summary>SIGKILL: no shutdown code runs.</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
        }
        await _process.WaitForExitAsync();
    }

    /// <summary>SIGTERM, then waits for the graceful shutdown; returns the exit code.</summary>
    public async Task<int> TerminateAsync(TimeSpan timeout)
    {
        if (!_process.HasExited)
        {
            using var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(CultureInfo.InvariantCulture)]);
            await kill.WaitForExitAsync();
        }
        using var cancel = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cancel.Token);
        return _process.ExitCode;
    }

    /// <summary>Starts the exited process again with the same port, data folder and settings, and waits until it is ready.</summary>
    public async Task RestartAsync(TimeSpan timeout)
    {
        if (!_process.HasExited)
        {
            throw new InvalidOperationException($"{Name} is still running");
        }
        _process.Dispose();
        _process = Launch();
        await WaitReadyAsync(timeout);
    }

    /// <summary>The most memory the process has held resident so far (VmHWM).</summary>
    public long PeakRssBytes() => StatusBytes("VmHWM:");

    /// <summary>The memory the process holds resident now (VmRSS).</summary>
    public long RssBytes() => StatusBytes("VmRSS:");

    /// <summary>A size field of <c>/proc/&lt;pid&gt;/status</c>, which the kernel gives in KiB.</summary>
    private long StatusBytes(string field)
    {
        var line = File.ReadLines($"/proc/{_process.Id}/status").First(l => l.StartsWith(field, StringComparison.Ordinal));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
    }

    /// <summary>CPU time the process has used so far, user and system, from <c>/proc/&lt;pid&gt;/stat</c> (10 ms resolution).</summary>
    public TimeSpan CpuTime()
    {
        // Fields after the command name, which is in parentheses and may hold spaces: utime and stime are the 12th and 13th.
        var stat = File.ReadAllText($"/proc/{_process.Id}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        return TimeSpan.FromSeconds(ticks / (double)ClockTicksPerSecond);
    }

    /// <summary>USER_HZ, the unit of /proc times: 100 on every Linux the pipeline runs on.</summary>
    private const int ClockTicksPerSecond = 100;

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        if (!_process.HasExited)
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
        Directory.Delete(DataDir, recursive: true);
    }
}
