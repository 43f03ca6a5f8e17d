using System.Diagnostics;
using System.Globalization;
using StackExchange.Redis;

namespace Arena.Pipeline.Tests.Deployment;

/// <summary>
/// The compose stack on real processes: Redis started by the stack's own start-redis.sh
/// with its ACL users, the four services with the environment compose gives them (host
/// names pointed at loopback), and Debian's Prometheus with the stack's configuration and
/// alerts. The ACL rules get one extra user, <c>admin</c>, for the tests to look with. The Redis
/// exporter does not run: Prometheus finds its target down, and its metrics absent.
/// </summary>
public sealed class ComposeStack : IAsyncLifetime
{
    public const string AdminPassword = "admin-password";
    private readonly string _dir = Repo.NewTempDir("compose");
    private readonly List<Process> _processes = [];
    private readonly Dictionary<string, ServiceProcess> _services = [];
    private readonly SemaphoreSlim _once = new(1, 1);
    private object? _result;

    public ComposeFile Compose { get; } = new(Variables);
    public int RedisPort { get; } = FreePort.Next();
    public Uri Prometheus { get; private set; } = null!;
    public ConnectionMultiplexer Admin { get; private set; } = null!;

    /// <summary>What each service logged when it became ready.</summary>
    public Dictionary<string, string> StartupLogs { get; } = [];

    public static readonly Dictionary<string, string> Variables = WithAccessControl(ComposeFile.ExampleVariables());

    public const string ApiKey = "compose-test-key";
    public const string ReadToken = "compose-read-token";
    public const string ViewerOrigin = "https://viewer.compose.example";

    private static Dictionary<string, string> WithAccessControl(Dictionary<string, string> variables)
    {
        variables["ARENA_API_KEYS"] = $"compose-harness:{ApiKey}";
        variables["DEMO_API_KEY"] = ApiKey;
        variables["ARENA_READ_TOKEN"] = ReadToken;
        variables["ARENA_CORS_ORIGINS"] = ViewerOrigin;
        return variables;
    }

    public ServiceProcess this[string name] => _services[name];

    /// <summary>Runs <paramref name="drive"/> the first time any test asks, and gives every test its result.</summary>
    public async Task<T> OnceAsync<T>(Func<Task<T>> drive) where T : class
    {
        await _once.WaitAsync();
        try
        {
            return (T)(_result ??= await drive());
        }
        finally
        {
            _once.Release();
        }
    }

    public string RedisConfiguration(string user) =>
        $"127.0.0.1:{RedisPort},user={user},password={(user == "admin" ? AdminPassword : Variables[Arena.Harness.ServiceManifest.RedisPasswordVariable(user)])}";

    public async Task InitializeAsync()
    {
        await StartRedisAsync();
        // Every service of the manifest, each after those its environment names by address (the gateway after the persister and the ranker).
        var waiting = DeployedService.All.Select(s => s.Name).ToList();
        while (waiting.Count > 0)
        {
            var next = waiting.First(name => !waiting.Any(other => Compose.Environment(name).Values.Any(v => v.Contains($"http://{other}:", StringComparison.Ordinal))));
            waiting.Remove(next);
            await StartServiceAsync(next);
        }
        await StartPrometheusAsync();
    }

    private async Task StartRedisAsync()
    {
        var rules = Path.Combine(_dir, "acl.rules");
        File.Copy(Path.Combine(ComposeFile.Dir, "redis", "acl.rules"), rules);
        File.AppendAllText(rules, "user admin on ~* &* +@all\n");
        var env = Compose.Environment("redis");
        env["ARENA_ACL_RULES"] = rules;
        env["ARENA_ACL_FILE"] = Path.Combine(_dir, "users.acl");
        env["REDIS_PASSWORD_ADMIN"] = AdminPassword;
        var entrypoint = Compose.List("redis", "entrypoint");
        Assert.Equal(["/bin/sh", "/etc/arena/start-redis.sh"], entrypoint);
        var args = Compose.List("redis", "command").Select(a => a == "/data" ? _dir : a).ToList();
        args.InsertRange(0, [Path.Combine(ComposeFile.Dir, "redis", "start-redis.sh")]);
        args.AddRange(["--port", RedisPort.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--logfile", Path.Combine(_dir, "redis.log")]);
        Start(entrypoint[0], args, env);
        await Wait.UntilAsync(async () =>
        {
            try
            {
                Admin = await ConnectionMultiplexer.ConnectAsync($"{RedisConfiguration("admin")},connectTimeout=500,abortConnect=true");
                return true;
            }
            catch (RedisConnectionException)
            {
                return false;
            }
        }, "Redis with the stack's ACL users", TimeSpan.FromSeconds(20));
    }

    private async Task StartServiceAsync(string name)
    {
        var service = DeployedService.Named(name);
        var env = Compose.Environment(name).ToDictionary(kv => kv.Key, kv => ToLoopback(kv.Value));
        if (service.KeepsData)
        {
            env["Arena__DataDir"] = Directory.CreateDirectory(Path.Combine(_dir, name)).FullName;
        }
        // Sooner than the defaults, so the short load below shows every effect.
        if (name == "ranker")
        {
            env["Ranker__RecomputeDebounce"] = "00:00:00.100";
        }
        var process = ServiceProcess.Start(name, Repo.Binary(service.Dir, service.Assembly), env);
        if (env.TryGetValue("Arena__ReadToken", out var token))
        {
            // The tests read as a reader holding the stack's token.
            process.Http.DefaultRequestHeaders.Authorization = new("Bearer", token);
        }
        _services[name] = process;
        await process.WaitReadyAsync();
        StartupLogs[name] = process.Output;
    }

    private string ToLoopback(string value)
    {
        value = value.Replace("redis:6379", $"127.0.0.1:{RedisPort}", StringComparison.Ordinal);
        foreach (var (name, running) in _services)
        {
            value = value.Replace($"http://{name}:{DeployedService.Named(name).Port}", running.Url.ToString().TrimEnd('/'), StringComparison.Ordinal);
        }
        return value;
    }

    private async Task StartPrometheusAsync()
    {
        var config = File.ReadAllText(Path.Combine(ComposeFile.Dir, "prometheus", "prometheus.yml"))
            .Replace("scrape_interval: 5s", "scrape_interval: 1s", StringComparison.Ordinal)
            .Replace("evaluation_interval: 5s", "evaluation_interval: 1s", StringComparison.Ordinal);
        foreach (var service in DeployedService.All)
        {
            config = config.Replace($"\"{service.Name}:{service.Port}\"", $"\"127.0.0.1:{_services[service.Name].Port}\"", StringComparison.Ordinal);
        }
        var dir = Directory.CreateDirectory(Path.Combine(_dir, "prometheus")).FullName;
        File.WriteAllText(Path.Combine(dir, "prometheus.yml"), config);
        File.Copy(Path.Combine(ComposeFile.Dir, "prometheus", "alerts.yml"), Path.Combine(dir, "alerts.yml"));
        var port = FreePort.Next();
        Prometheus = new Uri($"http://127.0.0.1:{port}");
        Start("prometheus", [$"--config.file={Path.Combine(dir, "prometheus.yml")}", $"--storage.tsdb.path={Path.Combine(dir, "data")}",
            $"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"], new Dictionary<string, string>());
        using var http = new HttpClient();
        await Wait.UntilAsync(async () =>
        {
            try
            {
                return (await http.GetAsync(new Uri(Prometheus, "/-/ready"))).IsSuccessStatusCode;
            }
            catch (HttpRequestException)
            {
                return false;
            }
        }, "Prometheus to be ready", TimeSpan.FromSeconds(30));
    }

    private void Start(string file, IEnumerable<string> args, IDictionary<string, string> env)
    {
        var start = new ProcessStartInfo(file) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }
        foreach (var (key, value) in env)
        {
            start.Environment[key] = value;
        }
        var process = Process.Start(start)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _processes.Add(process);
    }

    public async Task DisposeAsync()
    {
        foreach (var service in _services.Values)
        {
            await service.DisposeAsync();
        }
        await (Admin?.DisposeAsync() ?? ValueTask.CompletedTask);
        foreach (var process in _processes)
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
            }
            process.Dispose();
        }
        Directory.Delete(_dir, recursive: true);
    }
}
