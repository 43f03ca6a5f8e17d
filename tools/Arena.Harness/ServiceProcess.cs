using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;

namespace Arena.Harness;

/// <summary>
/// A service of the pipeline (or any built .NET assembly) as a child process on a loopback port,
/// with its output kept. It can be killed (SIGKILL) or stopped (SIGTERM) and started again with
/// the same port, folder and settings.
/// </summary>
public sealed class ServiceProcess : IAsyncDisposable
{
    /// <summary>Output lines kept: enough for a test to search everything a short run at trace level logged.</summary>
    private const int MaxLines = 4000;

    /// <summary>Lines handed to the log on dispose.</summary>
    private const int LinesOnDispose = 40;

    private readonly string _dll;
    private readonly IReadOnlyList<string> _args;
    private readonly Dictionary<string, string> _environment;
    private readonly Action<string>? _log;
    private readonly string? _ownDir;
    private readonly ConcurrentQueue<string> _output = new();
    private Process _process;

    private ServiceProcess(string name, string dll, IReadOnlyList<string> args, Dictionary<string, string> environment, int port, Action<string>? log, string? ownDir)
    {
        Name = name;
        _dll = dll;
        _args = args;
        _environment = environment;
        _log = log;
        _ownDir = ownDir;
        Port = port;
        Url = new Uri(string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{port}"));
        Http = new HttpClient { BaseAddress = Url, Timeout = TimeSpan.FromSeconds(30) };
        _process = Launch();
    }

    public string Name { get; }
    public int Port { get; }
    public Uri Url { get; }
    public HttpClient Http { get; }
    public bool HasExited => _process.HasExited;
    public int ExitCode => _process.ExitCode;

    /// <summary>The folder it was given as <c>Arena__DataDir</c>.</summary>
    public string DataDir => _environment.TryGetValue("Arena__DataDir", out var dir) ? dir : throw new InvalidOperationException($"{Name} was given no data folder");

    /// <summary>The last lines the process wrote (stdout and stderr, up to 4000), over its restarts.</summary>
    public IReadOnlyList<string> Lines => [.. _output];

    public string Output => string.Join('\n', _output);

    /// <summary>The built assembly of one of the pipeline's services.</summary>
    public static string Binary(string service) => Repo.Binary(ServiceManifest.Named(service).Dir, ServiceManifest.Named(service).Assembly);

    /// <summary>
    /// Starts <paramref name="dll"/> with <c>ASPNETCORE_URLS</c> on <paramref name="port"/> (a free one when null) and
    /// <paramref name="environment"/>; returns at once (see <see cref="WaitReadyAsync"/>).
    /// </summary>
    /// <param name="log">Given the last lines of output when the process is disposed.</param>
    public static ServiceProcess Start(string name, string dll, IDictionary<string, string> environment, Action<string>? log = null, int? port = null,
        IReadOnlyList<string>? args = null) =>
        Create(name, dll, environment, log, port ?? FreePort.Next(), args ?? [], ownDir: null);

    /// <summary>
    /// Starts the service <paramref name="service"/> on <paramref name="redis"/> with a data folder of its own (removed on
    /// dispose) and warnings-only logs, <paramref name="settings"/> over those, and waits until <c>/readyz</c> answers 200.
    /// </summary>
    public static async Task<ServiceProcess> StartAsync(string service, IRedisTarget redis, IDictionary<string, string>? settings = null)
    {
        var dll = Binary(service);
        var dataDir = Repo.NewTempDir($"{service}-data");
        var environment = new Dictionary<string, string>
        {
            ["Arena__Redis"] = redis.Configuration,
            ["Arena__DataDir"] = dataDir,
            ["Logging__LogLevel__Default"] = "Warning",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string>())
        {
            environment[key] = value;
        }
        var started = Create(service, dll, environment, log: null, FreePort.Next(), [], ownDir: dataDir);
        try
        {
            return await started.WaitReadyAsync();
        }
        catch
        {
            await started.DisposeAsync();
            throw;
        }
    }

    /// <param name="ownDir">A folder the process owns and that is removed on dispose.</param>
    private static ServiceProcess Create(string name, string dll, IDictionary<string, string> environment, Action<string>? log, int port,
        IReadOnlyList<string> args, string? ownDir)
    {
        var all = new Dictionary<string, string>
        {
            ["ASPNETCORE_URLS"] = string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{port}"),
            ["DOTNET_ENVIRONMENT"] = "Production",
        };
        foreach (var (key, value) in environment)
        {
            all[key] = value;
        }
        return new ServiceProcess(name, dll, args, all, port, log, ownDir);
    }

    private Process Launch()
    {
        var start = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(_dll);
        foreach (var arg in _args)
        {
            start.ArgumentList.Add(arg);
        }
        foreach (var (key, value) in _environment)
        {
            start.Environment[key] = value;
        }
        var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => Capture(e.Data);
        process.ErrorDataReceived += (_, e) => Capture(e.Data);
        process.Start();
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
        while (_output.Count > MaxLines && _output.TryDequeue(out _))
        {
        }
    }

    /// <summary>Waits until <c>/readyz</c> answers 200; fails at once if the process exits first.</summary>
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
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
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

    /// <summary>SIGTERM, then waits for the graceful shutdown; returns the exit code.</summary>
    public async Task<int> TerminateAsync(TimeSpan timeout)
    {
        if (!_process.HasExited)
        {
            try
            {
                await Command.SignalAsync(_process.Id, "TERM");
            }
            catch (InvalidOperationException) when (_process.HasExited)
            {
            }
        }
        return await WaitForExitAsync(timeout);
    }

    /// <summary>Waits for the process to exit on its own; returns the exit code.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cancel.Token);
        return _process.ExitCode;
    }

    /// <summary>Starts the exited process again with the same port, data folder and settings, and waits until it is ready.</summary>
    public async Task RestartAsync(TimeSpan? timeout = null)
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

    /// <summary>Kills the process if it still runs, hands its last lines to the log, and removes a data folder of its own.</summary>
    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        if (!_process.HasExited)
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }
        if (_log is not null)
        {
            _log(string.Create(CultureInfo.InvariantCulture, $"--- {Name} (exit {_process.ExitCode}), last lines ---"));
            foreach (var line in _output.TakeLast(LinesOnDispose))
            {
                _log(line);
            }
        }
        _process.Dispose();
        if (_ownDir is not null)
        {
            Directory.Delete(_ownDir, recursive: true);
        }
    }
}
