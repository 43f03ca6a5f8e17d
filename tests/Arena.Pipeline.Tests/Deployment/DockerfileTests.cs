using System.Text.Json;
using System.Text.RegularExpressions;
using Arena.Pipeline.Tests.Infrastructure;
using Arena.ServiceDefaults;

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
        var dockerfile = Dockerfile.Of(service);
        var stages = dockerfile.All("FROM").ToList();
        Assert.Matches(@"^mcr\.microsoft\.com/dotnet/sdk:\S+ AS build$", stages[0]);
        Assert.Matches(@"^mcr\.microsoft\.com/dotnet/aspnet:\S+ AS runtime$", stages[1]);
        Assert.Equal(service.KeepsData ? ["runtime AS runtime-with-data"] : [], stages[2..]);

        var image = dockerfile.Image();
        Assert.Contains("--from=build /app ./", image.All("COPY"));
        Assert.DoesNotMatch(@"^(root|0)(:|$)", image.All("USER").Last());
        Assert.Equal("/app", image.All("WORKDIR").Last());
        Assert.Equal(JsonSerializer.Serialize(new[] { "/bin/sh", "-c", "exec dotnet \"$ARENA_SERVICE_DLL\" \"$@\"", "dotnet" }),
            Exec(Assert.Single(image.All("ENTRYPOINT"))));
        Assert.Matches(@"^--interval=\S+ --timeout=\S+ --start-period=\S+ --retries=\d+ CMD ", Assert.Single(image.All("HEALTHCHECK")));
        Assert.Equal("dotnet \"$ARENA_SERVICE_DLL\" healthcheck", image.HealthCheck());
        Assert.Equal(["dotnet", service.Dll, HealthProbe.Command], image.HealthCheckWords());
        Assert.Equal(service.Dll, image.Environment()["ARENA_SERVICE_DLL"]);
        Assert.Equal(
            [$"org.opencontainers.image.title=\"arena-{name}\" org.opencontainers.image.version=\"{service.ProjectProperty("Version")}\" org.opencontainers.image.description=\"Arena event pipeline: {name}\""],
            image.All("LABEL"));
    }

    [Theory]
    [MemberData(nameof(Services))]
    public void Image_builds_the_service_project_from_the_sources_it_copies(string name)
    {
        var service = DeployedService.Named(name);
        var build = Dockerfile.Of(service).Stage("build");
        var publish = Regex.Match(Assert.Single(build.All("RUN"), r => r.Contains("dotnet publish", StringComparison.Ordinal)),
            @"dotnet publish (\S+\.csproj) -c Release -o /app");
        Assert.True(publish.Success, "the image publishes one project in Release into /app");
        Assert.Equal(Path.GetFullPath(service.ProjectPath), Path.GetFullPath(Path.Combine(Repo.Root, publish.Groups[1].Value)));
        Assert.Equal(service.Assembly, service.ProjectProperty("AssemblyName"));

        AssertCopiesWhatItBuilds(build, service.ProjectClosure());
    }

    [Fact]
    public void Tools_image_publishes_the_cli_and_the_simulator_each_in_its_folder_from_the_sources_it_copies()
    {
        var dockerfile = Dockerfile.Parse().Build(Dockerfile.ToolsTarget, new Dictionary<string, string> { ["VERSION"] = Dockerfile.ToolsVersion });
        var build = dockerfile.Stage("tools-build");
        Assert.Matches(@"^mcr\.microsoft\.com/dotnet/sdk:\S+ AS tools-build$", build.All("FROM").Single());
        AssertCopiesWhatItBuilds(build, Dockerfile.ToolProjects.SelectMany(p => DeployedService.ProjectClosure(Path.Combine(Repo.Root, p))).ToHashSet());
        // Each tool in a folder of its own: their dependency files and runtime configurations would overwrite each other.
        var dlls = Dockerfile.ToolProjects.Select(Dockerfile.ToolDll).ToList();
        Assert.Equal(["/app/cli/arena.dll", "/app/simulator/arena-sim.dll"], dlls);

        var image = dockerfile.Stage(Dockerfile.ToolsTarget);
        // The CLI connects through the services' shared library, which needs ASP.NET Core's shared framework.
        Assert.Matches(@"^mcr\.microsoft\.com/dotnet/aspnet:\S+ AS tools$", image.All("FROM").Single());
        Assert.Contains("--from=tools-build /app ./", image.All("COPY"));
        Assert.Equal("/app", image.All("WORKDIR").Last());
        Assert.DoesNotMatch(@"^(root|0)(:|$)", image.All("USER").Last());
        Assert.Equal(JsonSerializer.Serialize(new[] { "dotnet", dlls[0] }), Exec(Assert.Single(image.All("ENTRYPOINT"))));
        Assert.Contains($"org.opencontainers.image.version=\"{Dockerfile.ToolsVersion}\"", Assert.Single(image.All("LABEL")), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Tools_image_entrypoint_runs_the_published_cli()
    {
        var image = Dockerfile.Parse().Stage(Dockerfile.ToolsTarget);
        var entrypoint = JsonSerializer.Deserialize<string[]>(Assert.Single(image.All("ENTRYPOINT")))!;
        var app = Repo.NewTempDir("tools");
        try
        {
            // Published as the image publishes it, into the image's /app.
            var cli = Dockerfile.ToolDll(Dockerfile.ToolProjects[0]);
            var publish = await Command.RunAsync("dotnet", ["publish", Path.Combine(Repo.Root, Dockerfile.ToolProjects[0]), "-c", Repo.Configuration, "--no-build",
                "-o", Path.Combine(app, Path.GetDirectoryName(Path.GetRelativePath("/app", cli))!), "--nologo", "-v", "quiet"]);
            Assert.True(publish.Exit == 0, publish.Output);

            var help = await Command.RunAsync(entrypoint[0], [.. entrypoint[1..].Select(a => a.Replace("/app/", app + "/", StringComparison.Ordinal)), "--help"], app);
            Assert.True(help.Exit == 0, help.Output);
            Assert.Contains("dlq", help.Output, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(app, recursive: true);
        }
    }

    /// <summary>A build stage copies the root build files, every folder the projects it builds live in, and what they import.</summary>
    private static void AssertCopiesWhatItBuilds(Dockerfile build, IReadOnlySet<string> projects)
    {
        var copied = build.All("COPY").SelectMany(c => c.Split(' ')[..^1]).ToList();
        foreach (var file in new[] { "global.json", "Directory.Build.props", "Directory.Packages.props" })
        {
            Assert.Contains(file, copied);
        }
        foreach (var project in projects)
        {
            var relative = Path.GetRelativePath(Repo.Root, project).Replace('\\', '/');
            Assert.True(copied.Any(source => source.EndsWith('/') && relative.StartsWith(source, StringComparison.Ordinal)),
                $"{relative} is built but not copied into the image (COPY sources: {string.Join(", ", copied)})");
            // MSBuild files a project imports from outside its folder (the services' ReadyToRun.props) are copied too.
            foreach (var import in System.Xml.Linq.XDocument.Load(project).Descendants("Import"))
            {
                var file = Path.GetRelativePath(Repo.Root, Path.GetFullPath(Path.Combine(Path.GetDirectoryName(project)!, import.Attribute("Project")!.Value))).Replace('\\', '/');
                Assert.True(copied.Any(source => source == file || (source.EndsWith('/') && file.StartsWith(source, StringComparison.Ordinal))),
                    $"{relative} imports {file}, which is not copied into the image (COPY sources: {string.Join(", ", copied)})");
            }
            // Files a project builds in from outside its folder (ingest's schemas) are copied too.
            foreach (var item in System.Xml.Linq.XDocument.Load(project).Descendants("EmbeddedResource"))
            {
                var include = item.Attribute("Include")!.Value;
                var folder = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(project)!, include[..(include.IndexOf('*') is >= 0 and var star ? star : include.Length)]));
                var from = Path.GetRelativePath(Repo.Root, folder).Replace('\\', '/').TrimEnd('/') + "/";
                Assert.True(copied.Any(source => source.EndsWith('/') && from.StartsWith(source, StringComparison.Ordinal)),
                    $"{relative} builds in {include} but {from} is not copied into the image (COPY sources: {string.Join(", ", copied)})");
            }
        }
    }

    [Fact]
    public async Task Image_is_not_built_without_the_services_arguments()
    {
        var guard = Dockerfile.Parse().Stage("build").All("RUN").First();
        var all = new Dictionary<string, string> { ["SERVICE"] = "ingest", ["ASSEMBLY"] = "Arena.Ingest", ["PORT"] = "8081" };
        Assert.Equal(0, (await Command.RunAsync("/bin/sh", ["-c", guard], environment: all)).Exit);
        foreach (var missing in all.Keys)
        {
            var env = new Dictionary<string, string>(all) { [missing] = "" };
            Assert.NotEqual(0, (await Command.RunAsync("/bin/sh", ["-c", guard], environment: env)).Exit);
        }
    }

    [Theory]
    [MemberData(nameof(Services))]
    public void Image_listens_on_the_port_it_exposes_and_keeps_data_in_a_volume(string name)
    {
        var service = DeployedService.Named(name);
        var image = Dockerfile.Of(service).Image();
        var env = image.Environment();
        Assert.Equal(service.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), Assert.Single(image.All("EXPOSE")));
        Assert.Equal($"http://+:{service.Port}", env["ASPNETCORE_URLS"]);
        // The runtime image's own HTTP_PORTS would otherwise compete with ASPNETCORE_URLS.
        Assert.Equal("", env["ASPNETCORE_HTTP_PORTS"]);
        if (service.KeepsData)
        {
            Assert.Equal("/data", Assert.Single(image.All("VOLUME")));
            Assert.Equal("/data", env["Arena__DataDir"]);
            Assert.Contains("mkdir /data && chown \"$APP_UID\" /data", image.All("RUN"));
        }
        else
        {
            Assert.Empty(image.All("VOLUME"));
            Assert.DoesNotContain("Arena__DataDir", env.Keys);
        }
    }

    [Theory]
    [MemberData(nameof(Services))]
    public async Task Published_service_passes_its_image_health_check_and_fails_it_once_stopped(string name)
    {
        var service = DeployedService.Named(name);
        var image = Dockerfile.Of(service).Image();
        var app = Repo.NewTempDir("publish");
        var data = Repo.NewTempDir("data");
        try
        {
            var publish = await Command.RunAsync("dotnet", ["publish", service.ProjectPath, "-c", Repo.Configuration, "--no-build", "-o", app, "--nologo", "-v", "quiet"]);
            Assert.True(publish.Exit == 0, publish.Output);

            // The image's entrypoint, from the image's working directory with the image's environment, passes on its arguments.
            var env = image.Environment();
            env["Arena__DataDir"] = data;
            var entrypoint = JsonSerializer.Deserialize<string[]>(Assert.Single(image.All("ENTRYPOINT")))!;
            var settings = await Command.RunAsync(entrypoint[0], [.. entrypoint[1..], SettingsList.Command], app, env);
            Assert.True(settings.Exit == 0, settings.Output);
            Assert.Contains("Arena__Redis=", settings.Output, StringComparison.Ordinal);

            await using var redis = await RedisServer.StartAsync(output);
            var serviceEnv = new Dictionary<string, string>(env) { ["Arena__Redis"] = redis.Configuration };
            serviceEnv.Remove("ASPNETCORE_URLS");
            await using var running = await ServiceProcess.Start(name, Path.Combine(app, service.Dll), serviceEnv, output.WriteLine).WaitReadyAsync();

            // The image's health check as Docker runs a shell-form command (/bin/sh -c), with a wildcard listen address as in the image.
            env["ASPNETCORE_URLS"] = $"http://+:{running.Port}";
            var healthy = await Command.RunAsync("/bin/sh", ["-c", image.HealthCheck()], app, env);
            Assert.True(healthy.Exit == 0, healthy.Output);

            await running.KillAsync();
            var stopped = await Command.RunAsync("/bin/sh", ["-c", image.HealthCheck()], app, env);
            Assert.True(stopped.Exit == 1, $"expected exit 1 once the service is gone, got {stopped.Exit}: {stopped.Output}");
        }
        finally
        {
            Directory.Delete(app, recursive: true);
            Directory.Delete(data, recursive: true);
        }
    }

    /// <summary>An exec-form instruction normalised to compact JSON.</summary>
    private static string Exec(string json) => JsonSerializer.Serialize(JsonSerializer.Deserialize<string[]>(json));
}
