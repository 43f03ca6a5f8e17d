using System.Text.Json;
using System.Text.RegularExpressions;
using Arena.Pipeline.Tests.Infrastructure;

namespace Arena.Pipeline.Tests.Deployment;

/// <summary>
/// Each service's image, checked without a Docker engine: the Dockerfile's shape, then the
/// service published as the Dockerfile publishes it, started with the image's settings and
/// probed with the image's own health check command.
/// </summary>
public sealed class DockerfileTests(ITestOutputHelper output)
{
    public static TheoryData<string> Services => DeployedService.Names();

    [Theory]
    [MemberData(nameof(Services))]
    public void Image_is_built_in_an_sdk_stage_and_runs_as_a_non_root_user_on_the_aspnet_runtime(string name)
    {
        var service = DeployedService.Named(name);
        var dockerfile = Dockerfile.Of(service.Dir);
        var stages = dockerfile.All("FROM").ToList();
        Assert.Equal(2, stages.Count);
        Assert.Matches(@"^mcr\.microsoft\.com/dotnet/sdk:\S+ AS build$", stages[0]);
        Assert.Matches(@"^mcr\.microsoft\.com/dotnet/aspnet:\S+ AS runtime$", stages[1]);

        var final = dockerfile.FinalStage();
        Assert.Contains("--from=build /app ./", final.All("COPY"));
        var user = Assert.Single(final.All("USER"));
        Assert.DoesNotMatch(@"^(root|0)(:|$)", user);
        Assert.Equal(JsonSerializer.Serialize(new[] { "dotnet", service.Dll }), Exec(Assert.Single(final.All("ENTRYPOINT"))));
        Assert.Matches(@"^--interval=\S+ --timeout=\S+ --start-period=\S+ --retries=\d+ CMD ", Assert.Single(final.All("HEALTHCHECK")));
        Assert.Equal(JsonSerializer.Serialize(new[] { "dotnet", service.Dll, "healthcheck" }), HealthCheck(final));
    }

    [Theory]
    [MemberData(nameof(Services))]
    public void Image_builds_the_service_project_from_the_sources_it_copies(string name)
    {
        var service = DeployedService.Named(name);
        var dockerfile = Dockerfile.Of(service.Dir);
        var publish = Regex.Match(Assert.Single(dockerfile.All("RUN"), r => r.Contains("dotnet publish", StringComparison.Ordinal)),
            @"dotnet publish (\S+\.csproj) -c Release -o /app");
        Assert.True(publish.Success, "the image publishes one project in Release into /app");
        Assert.Equal(Path.GetFullPath(service.ProjectPath), Path.GetFullPath(Path.Combine(Repo.Root, publish.Groups[1].Value)));
        Assert.Equal(service.Assembly, service.ProjectProperty("AssemblyName"));

        // The build stage copies the root build files and every folder the project's references live in.
        var copied = dockerfile.All("COPY").Where(c => !c.StartsWith("--from", StringComparison.Ordinal))
            .SelectMany(c => c.Split(' ')[..^1]).ToList();
        foreach (var file in new[] { "global.json", "Directory.Build.props", "Directory.Packages.props" })
        {
            Assert.Contains(file, copied);
        }
        foreach (var project in service.ProjectClosure())
        {
            var relative = Path.GetRelativePath(Repo.Root, project).Replace('\\', '/');
            Assert.True(copied.Any(source => source.EndsWith('/') && relative.StartsWith(source, StringComparison.Ordinal)),
                $"{relative} is built but not copied into the image (COPY sources: {string.Join(", ", copied)})");
        }
    }

    [Theory]
    [MemberData(nameof(Services))]
    public void Image_listens_on_the_port_it_exposes_and_keeps_data_in_a_volume(string name)
    {
        var service = DeployedService.Named(name);
        var final = Dockerfile.Of(service.Dir).FinalStage();
        var env = final.Environment();
        Assert.Equal(service.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), Assert.Single(final.All("EXPOSE")));
        Assert.Equal($"http://+:{service.Port}", env["ASPNETCORE_URLS"]);
        // The runtime image's own HTTP_PORTS would otherwise compete with ASPNETCORE_URLS.
        Assert.Equal("", env["ASPNETCORE_HTTP_PORTS"]);
        var program = File.ReadAllText(Path.Combine(Repo.Root, service.Dir, "Program.cs"));
        Assert.Contains($"const int Port = {service.Port};", program, StringComparison.Ordinal);
        if (service.KeepsData)
        {
            Assert.Equal("/data", Assert.Single(final.All("VOLUME")));
            Assert.Equal("/data", env["Arena__DataDir"]);
        }
        else
        {
            Assert.Empty(final.All("VOLUME"));
        }
    }

    [Theory]
    [MemberData(nameof(Services))]
    public async Task Published_service_passes_its_image_health_check_and_fails_it_once_stopped(string name)
    {
        var service = DeployedService.Named(name);
        var final = Dockerfile.Of(service.Dir).FinalStage();
        var app = Repo.NewTempDir("publish");
        var data = Repo.NewTempDir("data");
        try
        {
            var publish = await Command.RunAsync("dotnet", ["publish", service.ProjectPath, "-c", Repo.Configuration, "--no-build", "-o", app, "--nologo", "-v", "quiet"]);
            Assert.True(publish.Exit == 0, publish.Output);

            await using var redis = await RedisServer.StartAsync(output);
            var env = final.Environment();
            env.Remove("ASPNETCORE_URLS");
            env["Arena__Redis"] = redis.Configuration;
            env["Arena__DataDir"] = data;
            await using var running = await ServiceProcess.Start(name, Path.Combine(app, service.Dll), env, output.WriteLine).WaitReadyAsync();

            // The image's command, from the image's working directory, with a wildcard listen address as in the image.
            var check = JsonSerializer.Deserialize<string[]>(HealthCheck(final))!;
            var probeEnv = new Dictionary<string, string> { ["ASPNETCORE_URLS"] = $"http://+:{running.Port}" };
            var healthy = await Command.RunAsync(check[0], check[1..], app, probeEnv);
            Assert.True(healthy.Exit == 0, healthy.Output);

            await running.KillAsync();
            var stopped = await Command.RunAsync(check[0], check[1..], app, probeEnv);
            Assert.True(stopped.Exit == 1, $"expected exit 1 once the service is gone, got {stopped.Exit}: {stopped.Output}");
        }
        finally
        {
            Directory.Delete(app, recursive: true);
            Directory.Delete(data, recursive: true);
        }
    }

    private static string HealthCheck(Dockerfile final) =>
        Exec(Regex.Match(Assert.Single(final.All("HEALTHCHECK")), @"CMD (\[.*\])$").Groups[1].Value);

    /// <summary>An exec-form instruction normalised to compact JSON.</summary>
    private static string Exec(string json) => JsonSerializer.Serialize(JsonSerializer.Deserialize<string[]>(json));
}
