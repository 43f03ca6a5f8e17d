using System.Xml.Linq;
using Arena.Harness;
using Arena.Pipeline.Tests.Infrastructure;
using Arena.ServiceDefaults;

namespace Arena.Pipeline.Tests.Deployment;

/// <summary>
/// <c>services/services.tsv</c> against what it declares: each service's project, port,
/// settings section and consumer group as built, and the places outside the deployment files
/// that name every service (the solution, the settings check, this test project). The compose
/// files and the Dockerfile are checked against it by <see cref="ComposeFileTests"/> and
/// <see cref="DockerfileTests"/>; <c>make images</c> and <c>make run</c> read it.
/// </summary>
public sealed class ServiceManifestTests
{
    private const string Header = "name\tassembly\tport\tsection\tgroup\tredis_user\tkeeps_data\n";

    public static TheoryData<string> Services => DeployedService.Names();

    [Fact]
    public async Task Scripts_read_the_same_services_as_the_tests()
    {
        // The loop of make images and scripts/run-local.sh: the columns by position, split on whitespace.
        var (exit, output) = await Command.RunAsync("bash", ["-c",
            $"tail -n +2 {ServiceManifest.RelativePath} | while read -r name assembly port section group user data; do echo \"$name $assembly $port $section $group $user $data\"; done"]);
        Assert.Equal(0, exit);
        Assert.Equal(
            DeployedService.All.Select(s => $"{s.Name} {s.Assembly} {s.Port} {s.Section} {s.Group ?? "-"} {s.RedisUser} {(s.KeepsData ? "yes" : "no")}"),
            output.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Theory]
    [InlineData("name\tassembly\tport\n", "header")]
    [InlineData("ingest\tArena.Ingest\t8081\tIngest\t-\tingest\tno\n", "header")]
    [InlineData(Header + "ingest\tArena.Ingest\t8081\tIngest\t-\tingest\n", "line 2")]
    [InlineData(Header + "ingest\tArena.Ingest\t8081\tIngest\t\tingest\tno\n", "line 2")]
    [InlineData(Header + "ingest\tArena.Ingest\t8081 \tIngest\t-\tingest\tno\n", "line 2")]
    [InlineData(Header + "ingest Arena.Ingest 8081 Ingest - ingest no\n", "line 2")]
    [InlineData(Header + "ingest\tArena.Ingest\t80x1\tIngest\t-\tingest\tno\n", "port")]
    [InlineData(Header + "Ingest\tArena.Ingest\t8081\tIngest\t-\tingest\tno\n", "lower case")]
    [InlineData(Header + "ingest\tArena.Ingest\t8081\tIngest\t-\tingest\ttrue\n", "keeps_data")]
    [InlineData(Header + "ingest\tArena.Ingest\t8081\tIngest\t-\tingest\tno\ningest\tArena.Other\t8085\tOther\t-\tother\tno\n", "name 'ingest'")]
    [InlineData(Header + "ingest\tArena.Ingest\t8081\tIngest\t-\tingest\tno\nother\tArena.Other\t8081\tOther\t-\tother\tno\n", "port '8081'")]
    [InlineData(Header + "a\tArena.A\t8081\tA\tg\ta\tno\nb\tArena.B\t8082\tB\tg\tb\tno\n", "group 'g'")]
    public void Manifest_the_scripts_could_misread_is_refused(string text, string named)
    {
        var error = Assert.Throws<FormatException>(() => ServiceManifest.Parse(text));
        Assert.Contains(named, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Manifest_reads_none_as_a_dash_and_keeps_its_order()
    {
        var services = ServiceManifest.Parse(Header + "b\tArena.B\t9002\tB\tb-group\tb-user\tyes\na\tArena.A\t9001\tA\t-\ta\tno\n");
        Assert.Equal(
            [new DeclaredService("b", "Arena.B", 9002, "B", "b-group", "b-user", true), new DeclaredService("a", "Arena.A", 9001, "A", null, "a", false)],
            services);
        Assert.Equal("services/b/Arena.B.csproj", services[0].Project);
        Assert.Equal("REDIS_PASSWORD_B_USER", services[0].RedisPasswordVariable);
    }

    [Theory]
    [MemberData(nameof(Services))]
    public void Service_is_the_project_of_its_folder_and_listens_on_its_port(string name)
    {
        var service = DeployedService.Named(name);
        Assert.True(File.Exists(service.ProjectPath), $"{service.Project} is missing");
        Assert.Equal(service.Assembly, service.ProjectProperty("AssemblyName"));
        var program = File.ReadAllText(Path.Combine(Repo.Root, service.Dir, "Program.cs"));
        Assert.Contains($"const int Port = {service.Port};", program, StringComparison.Ordinal);
        Assert.Contains($"AddServiceDefaults(\"{name}\", defaultPort: Port)", program, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Services))]
    public async Task Service_reads_its_own_section_and_joins_a_group_exactly_when_it_declares_one(string name)
    {
        var service = DeployedService.Named(name);
        var settings = await service.SettingsAsync();
        Assert.Equal([ArenaOptions.Section, service.Section], settings.Keys.Select(k => k.Split("__")[0]).Distinct().Order());
        // Every consumer takes the consumer runtime's settings (ConsumerOptions) in its own section.
        Assert.Equal(service.Group is not null, settings.ContainsKey($"{service.Section}__Group"));
    }

    [Fact]
    public void Settings_check_judges_the_section_of_every_service()
    {
        Assert.Equal(DeployedService.All.Select(s => s.Section).Prepend(ArenaOptions.Section).Order(), SettingsCheck.ArenaSections.Order());
    }

    [Fact]
    public void Solution_holds_every_service_in_its_services_folder()
    {
        var solution = XDocument.Load(Path.Combine(Repo.Root, "Arena.slnx"));
        var folder = solution.Descendants("Folder").Single(f => f.Attribute("Name")?.Value == "/services/");
        Assert.Equal(DeployedService.All.Select(s => s.Project).Order(), folder.Elements("Project").Select(p => p.Attribute("Path")!.Value).Order());
    }

    [Fact]
    public void Tests_build_every_service_first()
    {
        var tests = XDocument.Load(Path.Combine(Repo.Root, "tests", "Arena.Pipeline.Tests", "Arena.Pipeline.Tests.csproj"));
        var references = tests.Descendants("ProjectReference").Select(r => r.Attribute("Include")!.Value).ToList();
        Assert.All(DeployedService.All, s => Assert.Contains($"../../{s.Project}", references));
    }
}
