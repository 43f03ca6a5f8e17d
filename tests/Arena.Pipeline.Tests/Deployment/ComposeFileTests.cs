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

    /// <summary>Redis users that are no service's: the default user (off) and the operator CLI's.</summary>
    private static readonly string[] OtherRedisUsers = ["default", "operator"];

    [Fact]
    public void Stack_has_redis_the_services_of_the_manifest_prometheus_and_grafana()
    {
        Assert.Equal(["redis", .. DeployedService.All.Select(s => s.Name), "prometheus", "grafana"], _compose.ServiceNames);
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
    public void Prometheus_scrapes_every_service_at_its_port_and_nothing_else()
    {
        using var reader = new StreamReader(Path.Combine(ComposeFile.Dir, "prometheus", "prometheus.yml"));
        var yaml = new YamlStream();
        yaml.Load(reader);
        var jobs = ((YamlSequenceNode)((YamlMappingNode)yaml.Documents[0].RootNode)["scrape_configs"]).Children.Cast<YamlMappingNode>()
            .ToDictionary(job => Scalar(job, "job_name"), job => (
                Path: Scalar(job, "metrics_path"),
                Targets: ((YamlSequenceNode)ComposeFile.Child(job, "static_configs")!).Children.Cast<YamlMappingNode>()
                    .SelectMany(c => ComposeFile.Strings(ComposeFile.Child(c, "targets"))).ToList()));
        Assert.Equal(DeployedService.All.Select(s => s.Name).Order(), jobs.Keys.Order());
        foreach (var service in DeployedService.All)
        {
            Assert.Equal("/metrics", jobs[service.Name].Path);
            // One static target per job: ComposeStack points it at the service running on loopback.
            Assert.Equal([$"{service.Name}:{service.Port}"], jobs[service.Name].Targets);
        }
    }

    [Fact]
    public void Every_redis_user_is_a_services_or_the_operators_and_has_a_password_in_compose_and_the_example()
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
        Assert.Equal(["--appendonly", "yes", "--appendfsync", "always", "--dir", "/data", "--maxmemory", "2gb", "--maxmemory-policy", "noeviction"], command);
        Assert.Contains("redis-data:/data", _compose.List("redis", "volumes"));
        Assert.Equal("redis", Scalar(_compose.Service("redis"), "user"));
    }

    private static string Scalar(YamlMappingNode node, string key) =>
        ((YamlScalarNode)(ComposeFile.Child(node, key) ?? throw new InvalidOperationException($"{key} is missing at {node.Start}"))).Value!;

    private static TimeSpan Duration(string compose) => Regex.Match(compose, @"^(\d+)(s|m)$") is { Success: true } m
        ? (m.Groups[2].Value == "s" ? TimeSpan.FromSeconds(int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)) : TimeSpan.FromMinutes(int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)))
        : throw new FormatException(compose);
}
