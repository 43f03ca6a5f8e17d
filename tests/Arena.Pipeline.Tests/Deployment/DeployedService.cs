using System.Xml.Linq;
using Arena.Harness;
using Arena.Pipeline.Tests.Infrastructure;
using Arena.ServiceDefaults;

namespace Arena.Pipeline.Tests.Deployment;

/// <summary>The services of <c>services/services.tsv</c>, with what the deployment tests read of each as built.</summary>
internal static class DeployedService
{
    public static IReadOnlyList<DeclaredService> All => ServiceManifest.All;

    public static DeclaredService Named(string name) => ServiceManifest.Named(name);

    public static TheoryData<string> Names() => [.. All.Select(s => s.Name)];

    /// <summary>Every project <paramref name="projectPath"/> builds from (itself and its references, transitively), as full paths.</summary>
    public static IReadOnlySet<string> ProjectClosure(string projectPath)
    {
        var seen = new HashSet<string>();
        var todo = new Stack<string>([Path.GetFullPath(projectPath)]);
        while (todo.TryPop(out var project))
        {
            if (!seen.Add(project))
            {
                continue;
            }
            foreach (var reference in XDocument.Load(project).Descendants("ProjectReference"))
            {
                todo.Push(Path.GetFullPath(Path.Combine(Path.GetDirectoryName(project)!, reference.Attribute("Include")!.Value)));
            }
        }
        return seen;
    }

    extension(DeclaredService service)
    {
        public string ProjectPath => Path.Combine(Repo.Root, service.Project);

        public string? ProjectProperty(string name) =>
            XDocument.Load(service.ProjectPath).Descendants(name).Select(e => e.Value).FirstOrDefault();

        /// <summary>Every project this one builds from (itself and its references, transitively), as full paths.</summary>
        public IReadOnlySet<string> ProjectClosure() => ProjectClosure(service.ProjectPath);

        /// <summary>Every setting the built service reads, with its default: what its <c>settings</c> command prints.</summary>
        public async Task<Dictionary<string, string>> SettingsAsync()
        {
            var (exit, output) = await Command.RunAsync("dotnet", [Repo.Binary(service.Dir, service.Assembly), SettingsList.Command]);
            Assert.True(exit == 0, $"{service.Name} {SettingsList.Command} exited {exit}: {output}");
            var settings = new Dictionary<string, string>();
            foreach (var line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                var equals = line.IndexOf('=', StringComparison.Ordinal);
                Assert.True(equals > 0, $"{service.Name} printed a line that is not Name=default: {line}");
                settings[line[..equals]] = line[(equals + 1)..];
            }
            return settings;
        }
    }
}
