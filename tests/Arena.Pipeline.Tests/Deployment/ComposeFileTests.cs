using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
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

    [Fact]
    public void Stack_has_redis_the_four_services_prometheus_and_grafana()
    {
        Assert.Equal(["redis", "ingest", "persister", "ranker", "sse-gateway", "prometheus", "grafana"], _compose.ServiceNames);
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
    public void Service_is_built_from_its_own_dockerfile_and_tagged_with_its_version(string name)
    {
        var service = DeployedService.Named(name);
        var node = _compose.Service(name);
        var build = (YamlMappingNode)ComposeFile.Child(node, "build")!;
        Assert.Equal("../..", Scalar(build, "context"));
        Assert.Equal($"{service.Dir}/Dockerfile", Scalar(build, "dockerfile"));
        Assert.True(File.Exists(Path.Combine(ComposeFile.Dir, "../..", service.Dir, "Dockerfile")));
        var version = service.ProjectProperty("Version");
        Assert.NotNull(version);
        Assert.Equal($"arena/{name}:{version}", _compose.Interpolate(Scalar(node, "image")));
        Assert.Equal(version, _compose.Interpolate(Scalar((YamlMappingNode)ComposeFile.Child(build, "args")!, "VERSION")));
    }

    [Theory]
    [MemberData(nameof(Services))]
    public void Published_port_is_the_port_the_service_listens_on(string name)
    {
        var service = DeployedService.Named(name);
        var port = Assert.Single(_compose.List(name, "ports"));
        Assert.EndsWith($":{service.Port}:{service.Port}".TrimStart(':'), port, StringComparison.Ordinal);
        Assert.EndsWith($":{service.Port}", Dockerfile.Of(service.Dir).FinalStage().Environment()["ASPNETCORE_URLS"], StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Services))]
    public void Health_check_is_the_images_probe_of_healthz(string name)
    {
        var service = DeployedService.Named(name);
        var health = (YamlMappingNode)ComposeFile.Child(_compose.Service(name), "healthcheck")!;
        Assert.Equal(["CMD", "dotnet", service.Dll, HealthProbe.Command], ComposeFile.Strings(ComposeFile.Child(health, "test")));
        var image = Regex.Match(Assert.Single(Dockerfile.Of(service.Dir).FinalStage().All("HEALTHCHECK")), @"CMD (\[.*\])$").Groups[1].Value;
        Assert.Equal(["dotnet", service.Dll, HealthProbe.Command], JsonSerializer.Deserialize<string[]>(image)!);
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
    public void Service_connects_as_its_own_redis_user_and_sets_only_settings_it_knows(string name)
    {
        var env = _compose.Environment(name);
        Assert.Equal($"redis:6379,user={name},password={ComposeFile.ExampleVariables()[$"REDIS_PASSWORD_{name.ToUpperInvariant().Replace('-', '_')}"]}",
            env["Arena__Redis"]);
        foreach (var key in env.Keys)
        {
            var section = key.Split("__")[0];
            // Arena settings are checked by the running service itself (ComposeStackTests); the rest must be known here.
            Assert.True(SettingsCheck.ArenaSections.Contains(section) || FrameworkSettings.Contains(key),
                $"{name} sets {key}, which no Arena service reads");
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
    public void Prometheus_scrapes_every_service_at_its_port()
    {
        var config = File.ReadAllText(Path.Combine(ComposeFile.Dir, "prometheus", "prometheus.yml"));
        foreach (var service in DeployedService.All)
        {
            Assert.Contains($"job_name: {service.Name}", config, StringComparison.Ordinal);
            Assert.Contains($"\"{service.Name}:{service.Port}\"", config, StringComparison.Ordinal);
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
