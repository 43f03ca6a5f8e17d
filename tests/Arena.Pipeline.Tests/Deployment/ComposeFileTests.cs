using System.Globalization;
using System.Text.RegularExpressions;
using Arena.Harness;
using Arena.ServiceDefaults;
using YamlDotNet.RepresentationModel;

namespace Arena.Pipeline.Tests.Deployment;

/// <summary><c>compose.yaml</c> against the services as built: images, ports, health checks, settings, volumes.</summary>
public sealed class ComposeFileTests
{
    private readonly ComposeFile _compose = new(ComposeFile.ExampleVariables());

    public static TheoryData<string> Services => DeployedService.Names();

    /// <summary>Settings outside the Arena sections that a service reads through the framework.</summary>
    private static readonly string[] FrameworkSettings = ["OTEL_EXPORTER_OTLP_ENDPOINT"];

    /// <summary>
    /// What the consumer runtime (<c>shared/Arena.Messaging</c>) sends for a group: reading,
    /// acknowledging and claiming entries, creating the group and removing dead consumers,
    /// dead-lettering, lag, the size counter, the wake-up channel. The compose stack test
    /// (<see cref="ComposeStackTests"/>) shows under load that Redis refuses none of it.
    /// </summary>
    private static readonly string[] ConsumerRules =
    [
        "~arena:*:events", "~arena:*:overflow", "~arena:*:dlq", "~arena:*:size", "~arena:*:dlq:dropped", "&arena:wake",
        "+eval", "+evalsha", "+script|load", "+subscribe", "+unsubscribe", "+publish",
        "+xreadgroup", "+xack", "+xautoclaim", "+xpending", "+xinfo|groups", "+xinfo|consumers", "+xinfo|stream",
        "+xgroup|create", "+xgroup|delconsumer", "+xlen", "+exists", "+xadd", "+xrange",
        "(~arena:*:size +get +set)", "(~arena:*:dlq:dropped +get +incrby)",
    ];

    /// <summary>Commands only a member of a consumer group sends.</summary>
    private static readonly string[] GroupCommands = ["+xreadgroup", "+xack", "+xautoclaim", "+xgroup|create", "+xgroup|delconsumer"];

    /// <summary>Redis users that are no service's: the default user (off), the operator CLI's and the Redis exporter's.</summary>
    private static readonly string[] OtherRedisUsers = ["default", "operator", "redis-exporter"];

    /// <summary>The commands the Redis exporter sends (oliver006/redis_exporter without key or stream checks), all of them read-only.</summary>
    private static readonly string[] ExporterCommands =
        ["+ping", "+client|setname", "+info", "+config|get", "+latency|latest", "+latency|histogram", "+slowlog|get", "+slowlog|len"];

    [Fact]
    public void Stack_has_redis_the_services_of_the_manifest_the_operator_tools_the_redis_exporter_prometheus_and_grafana()
    {
        Assert.Equal(["redis", .. DeployedService.All.Select(s => s.Name), "arena-cli", "simulator", "redis-exporter", "prometheus", "grafana"],
            _compose.ServiceNames);
    }

    [Fact]
    public void Only_the_operator_tools_wait_for_a_profile()
    {
        var profiles = _compose.ServiceNames.ToDictionary(name => name, name => _compose.List(name, "profiles"));
        Assert.Equal(["tools"], profiles["arena-cli"]);
        Assert.Equal(["demo"], profiles["simulator"]);
        Assert.All(profiles.Where(p => p.Key is not ("arena-cli" or "simulator")), p => Assert.Empty(p.Value));
    }

    [Fact]
    public void Arena_cli_runs_the_tools_image_as_the_operator_redis_user_on_the_services_partitions()
    {
        var build = (YamlMappingNode)ComposeFile.Child(_compose.Service("arena-cli"), "build")!;
        Assert.Equal("../..", Scalar(build, "context"));
        Assert.Equal(Dockerfile.RelativePath, Scalar(build, "dockerfile"));
        Assert.Equal(Dockerfile.ToolsTarget, Scalar(build, "target"));
        Assert.Equal($"arena/tools:{Dockerfile.ToolsVersion}", _compose.Interpolate(Scalar(_compose.Service("arena-cli"), "image")));

        var env = _compose.Environment("arena-cli");
        Assert.Equal($"redis:6379,user=operator,password={ComposeFile.ExampleVariables()["REDIS_PASSWORD_OPERATOR"]}", env["Arena__Redis"]);
        // The CLI and every service split the streams alike, or the CLI looks at partitions nobody writes.
        var partitions = new ComposeFile(new Dictionary<string, string>(ComposeFile.ExampleVariables()) { ["ARENA_PARTITIONS"] = "4" });
        Assert.All(DeployedService.All.Select(s => s.Name).Append("arena-cli"), name => Assert.Equal("4", partitions.Environment(name)["Arena__Partitions"]));
        Assert.Equal(["Arena__Partitions", "Arena__Redis"], env.Keys.Order());
        var redis = (YamlMappingNode)((YamlMappingNode)ComposeFile.Child(_compose.Service("arena-cli"), "depends_on")!)["redis"];
        Assert.Equal("service_healthy", Scalar(redis, "condition"));
        Assert.Empty(_compose.List("arena-cli", "ports"));
    }

    [Fact]
    public void Simulator_plays_from_the_tools_image_against_ingest_with_the_demo_key()
    {
        var simulator = _compose.Service("simulator");
        Assert.Equal(_compose.Interpolate(Scalar(_compose.Service("arena-cli"), "image")), _compose.Interpolate(Scalar(simulator, "image")));
        Assert.Equal(Dockerfile.ToolsTarget, Scalar((YamlMappingNode)ComposeFile.Child(simulator, "build")!, "target"));
        Assert.Equal(["dotnet", Dockerfile.SimulatorDll], _compose.List("simulator", "entrypoint"));
        var command = _compose.List("simulator", "command");
        Assert.Equal($"http://ingest:{DeployedService.Named("ingest").Port}", command[command.ToList().IndexOf("--ingest") + 1]);
        // The simulator takes its key from ARENA_API_KEY; the stack's example leaves publishing open and the key empty.
        Assert.Equal(new Dictionary<string, string> { ["ARENA_API_KEY"] = "" }, _compose.Environment("simulator"));
        Assert.Equal(ComposeStack.ApiKey, new ComposeFile(ComposeStack.Variables).Environment("simulator")["ARENA_API_KEY"]);
        var ingest = (YamlMappingNode)((YamlMappingNode)ComposeFile.Child(simulator, "depends_on")!)["ingest"];
        Assert.Equal("service_healthy", Scalar(ingest, "condition"));
    }

    [Fact]
    public void Redis_exporter_is_pinned_and_reads_redis_as_its_own_read_only_user()
    {
        var exporter = _compose.Service("redis-exporter");
        Assert.Matches(@"^oliver006/redis_exporter:v\d+\.\d+\.\d+$", Scalar(exporter, "image"));
        Assert.Equal(new Dictionary<string, string>
        {
            ["REDIS_ADDR"] = "redis://redis:6379",
            ["REDIS_USER"] = "redis-exporter",
            ["REDIS_PASSWORD"] = ComposeFile.ExampleVariables()["REDIS_PASSWORD_REDIS_EXPORTER"],
        }, _compose.Environment("redis-exporter"));
        Assert.Empty(_compose.List("redis-exporter", "ports"));

        // No key, no channel, no category: only the commands it sends (ComposeStackTests dry-runs a few).
        Assert.Equal(["on", "resetkeys", "resetchannels", "-@all", .. ExporterCommands], ComposeFile.AclUsers()["redis-exporter"]);
    }

    [Fact]
    public void Compose_refuses_to_start_without_the_secrets()
    {
        var missing = ComposeFile.ExampleVariables();
        missing.Remove("REDIS_PASSWORD_INGEST");
        var error = Assert.Throws<InvalidOperationException>(() => new ComposeFile(missing).Environment("ingest"));
        Assert.Contains("REDIS_PASSWORD_INGEST", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Services))]
    public void Service_is_built_from_the_dockerfile_with_its_row_of_the_manifest_and_tagged_with_its_version(string name)
    {
        var service = DeployedService.Named(name);
        var node = _compose.Service(name);
        var build = (YamlMappingNode)ComposeFile.Child(node, "build")!;
        Assert.Equal("../..", Scalar(build, "context"));
        Assert.Equal(Dockerfile.RelativePath, Scalar(build, "dockerfile"));
        Assert.True(File.Exists(Path.Combine(ComposeFile.Dir, "../..", Dockerfile.RelativePath)));
        Assert.Equal(Dockerfile.Target(service), Scalar(build, "target"));
        var version = service.ProjectProperty("Version");
        Assert.NotNull(version);
        Assert.Equal($"arena/{name}:{version}", _compose.Interpolate(Scalar(node, "image")));
        var args = ((YamlMappingNode)ComposeFile.Child(build, "args")!).Children
            .ToDictionary(kv => ((YamlScalarNode)kv.Key).Value!, kv => _compose.Interpolate(((YamlScalarNode)kv.Value).Value!));
        Assert.Equal(Dockerfile.BuildArguments(service, version), args);
    }

    [Theory]
    [MemberData(nameof(Services))]
    public void Published_port_is_the_port_the_service_listens_on(string name)
    {
        var service = DeployedService.Named(name);
        var port = Assert.Single(_compose.List(name, "ports"));
        Assert.EndsWith($":{service.Port}:{service.Port}".TrimStart(':'), port, StringComparison.Ordinal);
        Assert.EndsWith($":{service.Port}", Dockerfile.Of(service).Image().Environment()["ASPNETCORE_URLS"], StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Services))]
    public void Health_check_is_the_images_probe_of_healthz(string name)
    {
        var service = DeployedService.Named(name);
        var health = (YamlMappingNode)ComposeFile.Child(_compose.Service(name), "healthcheck")!;
        Assert.Equal(["CMD", "dotnet", service.Dll, HealthProbe.Command], ComposeFile.Strings(ComposeFile.Child(health, "test")));
        Assert.Equal(["dotnet", service.Dll, HealthProbe.Command], Dockerfile.Of(service).Image().HealthCheckWords());
    }

    [Theory]
    [MemberData(nameof(Services))]
    public void Service_restarts_waits_for_redis_and_is_given_longer_to_stop_than_it_takes(string name)
    {
        var node = _compose.Service(name);
        Assert.Equal("unless-stopped", Scalar(node, "restart"));
        Assert.True(Duration(Scalar(node, "stop_grace_period")) > ServiceDefaultsExtensions.ShutdownTimeout);
        var redis = (YamlMappingNode)((YamlMappingNode)ComposeFile.Child(node, "depends_on")!)["redis"];
        Assert.Equal("service_healthy", Scalar(redis, "condition"));
    }

    [Theory]
    [MemberData(nameof(Services))]
    public void Service_connects_as_its_own_redis_user_and_sets_only_settings_of_its_sections(string name)
    {
        var service = DeployedService.Named(name);
        var env = _compose.Environment(name);
        Assert.Equal($"redis:6379,user={service.RedisUser},password={ComposeFile.ExampleVariables()[service.RedisPasswordVariable]}",
            env["Arena__Redis"]);
        foreach (var key in env.Keys)
        {
            var section = key.Split("__")[0];
            // Each setting is checked by the running service itself (ComposeStackTests); its section must be the service's here.
            Assert.True(section == ArenaOptions.Section || section == service.Section || FrameworkSettings.Contains(key),
                $"{name} sets {key}, outside its sections ({ArenaOptions.Section}, {service.Section})");
        }
    }

    [Theory]
    [MemberData(nameof(Services))]
    public void Services_that_keep_data_keep_it_in_their_own_volume(string name)
    {
        var service = DeployedService.Named(name);
        var volumes = _compose.List(name, "volumes");
        if (service.KeepsData)
        {
            Assert.Equal([$"{name}-data:/data"], volumes);
            Assert.Contains($"{name}-data", _compose.VolumeNames);
            Assert.Equal("/data", _compose.Environment(name)["Arena__DataDir"]);
        }
        else
        {
            Assert.Empty(volumes);
        }
    }

    [Fact]
    public void Gateway_finds_the_persister_and_ranker_at_their_compose_addresses()
    {
        var env = _compose.Environment("sse-gateway");
        Assert.Equal($"http://persister:{DeployedService.Named("persister").Port}", env["SseGateway__PersisterUrl"]);
        Assert.Equal($"http://ranker:{DeployedService.Named("ranker").Port}", env["SseGateway__RankerUrl"]);
    }

    [Fact]
    public void Read_token_reaches_every_read_api_and_cors_origins_every_service()
    {
        var compose = new ComposeFile(ComposeStack.Variables);
        foreach (var name in new[] { "persister", "ranker", "sse-gateway" })
        {
            Assert.Equal(ComposeStack.ReadToken, compose.Environment(name)["Arena__ReadToken"]);
        }
        Assert.DoesNotContain("Arena__ReadToken", compose.Environment("ingest").Keys);
        Assert.All(DeployedService.All, s => Assert.Equal(ComposeStack.ViewerOrigin, compose.Environment(s.Name)["Arena__CorsOrigins"]));
        // The example leaves both open, as make run does.
        Assert.Equal("", _compose.Environment("sse-gateway")["Arena__ReadToken"]);
    }

    [Fact]
    public void Prometheus_scrapes_every_service_at_its_port_and_the_redis_exporter()
    {
        using var reader = new StreamReader(Path.Combine(ComposeFile.Dir, "prometheus", "prometheus.yml"));
        var yaml = new YamlStream();
        yaml.Load(reader);
        var jobs = ((YamlSequenceNode)((YamlMappingNode)yaml.Documents[0].RootNode)["scrape_configs"]).Children.Cast<YamlMappingNode>()
            .ToDictionary(job => Scalar(job, "job_name"), job => (
                Path: Scalar(job, "metrics_path"),
                Targets: ((YamlSequenceNode)ComposeFile.Child(job, "static_configs")!).Children.Cast<YamlMappingNode>()
                    .SelectMany(c => ComposeFile.Strings(ComposeFile.Child(c, "targets"))).ToList()));
        Assert.Equal(DeployedService.All.Select(s => s.Name).Append("redis-exporter").Order(), jobs.Keys.Order());
        Assert.Equal("/metrics", jobs["redis-exporter"].Path);
        Assert.Equal(["redis-exporter:9121"], jobs["redis-exporter"].Targets);
        foreach (var service in DeployedService.All)
        {
            Assert.Equal("/metrics", jobs[service.Name].Path);
            // One static target per job: ComposeStack points it at the service running on loopback.
            Assert.Equal([$"{service.Name}:{service.Port}"], jobs[service.Name].Targets);
        }
    }

    [Fact]
    public void Every_redis_user_is_a_services_the_operators_or_the_exporters_and_has_a_password_in_compose_and_the_example()
    {
        var users = ComposeFile.AclUsers();
        Assert.Equal(OtherRedisUsers.Concat(DeployedService.All.Select(s => s.RedisUser)).Order(), users.Keys.Order());
        Assert.Equal(["off"], users["default"]);
        // start-redis.sh reads each user's password from its variable, which compose passes on from .env.
        var passwords = users.Keys.Where(u => u != "default").Select(ServiceManifest.RedisPasswordVariable).Order().ToList();
        var redis = (YamlMappingNode)ComposeFile.Child(_compose.Service("redis"), "environment")!;
        Assert.Equal(passwords, redis.Children.Keys.Select(k => ((YamlScalarNode)k).Value!).Where(k => k.StartsWith("REDIS_PASSWORD_", StringComparison.Ordinal)).Order());
        Assert.Equal(passwords, ComposeFile.ExampleVariables().Keys.Where(k => k.StartsWith("REDIS_PASSWORD_", StringComparison.Ordinal)).Order());
        foreach (var variable in passwords)
        {
            Assert.Equal($"${{{variable}:?set it in .env}}", Scalar(redis, variable));
        }
    }

    [Theory]
    [MemberData(nameof(Services))]
    public void Redis_user_of_a_consumer_may_run_the_consumer_runtime_and_no_other_joins_a_group(string name)
    {
        var service = DeployedService.Named(name);
        var rules = ComposeFile.AclUsers()[service.RedisUser];
        Assert.Equal("on", rules[0]);
        if (service.Group is not null)
        {
            Assert.Empty(ConsumerRules.Except(rules));
        }
        else
        {
            Assert.Empty(GroupCommands.Intersect(rules));
        }
    }

    [Fact]
    public void Redis_keeps_an_append_only_file_fsynced_on_every_write_in_a_volume()
    {
        var command = _compose.List("redis", "command");
        Assert.Equal(["--appendonly", "yes", "--appendfsync", "always", "--dir", "/data", "--maxmemory", "2gb", "--maxmemory-policy", "noeviction", "--lazyfree-lazy-expire", "yes"], command);
        Assert.Contains("redis-data:/data", _compose.List("redis", "volumes"));
        Assert.Equal("redis", Scalar(_compose.Service("redis"), "user"));
    }

    private static string Scalar(YamlMappingNode node, string key) =>
        ((YamlScalarNode)(ComposeFile.Child(node, key) ?? throw new InvalidOperationException($"{key} is missing at {node.Start}"))).Value!;

    private static TimeSpan Duration(string compose) => Regex.Match(compose, @"^(\d+)(s|m)$") is { Success: true } m
        ? (m.Groups[2].Value == "s" ? TimeSpan.FromSeconds(int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)) : TimeSpan.FromMinutes(int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)))
        : throw new FormatException(compose);
}
