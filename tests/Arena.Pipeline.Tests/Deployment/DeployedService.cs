using System.Xml.Linq;

namespace Arena.Pipeline.Tests.Deployment;

/// <summary>A service as built here: its folder, project, assembly and the port of docs/configuration.md.</summary>
internal sealed record DeployedService(string Name, string Assembly, int Port, bool KeepsData)
{
    public static readonly DeployedService[] All =
    [
        new("ingest", "Arena.Ingest", 8081, KeepsData: false),
        new("persister", "Arena.Persister", 8082, KeepsData: true),
        new("ranker", "Arena.Ranker", 8083, KeepsData: true),
        new("sse-gateway", "Arena.SseGateway", 8084, KeepsData: false),
    ];

    public static DeployedService Named(string name) => All.Single(s => s.Name == name);

    public static TheoryData<string> Names() => [.. All.Select(s => s.Name)];

    public string Dir => $"services/{Name}";

    public string ProjectPath => Path.Combine(Repo.Root, Dir, Assembly + ".csproj");

    public string Dll => Assembly + ".dll";

    public string? ProjectProperty(string name) =>
        XDocument.Load(ProjectPath).Descendants(name).Select(e => e.Value).FirstOrDefault();

    /// <summary>Every project this one builds from (itself and its references, transitively), as full paths.</summary>
    public IReadOnlySet<string> ProjectClosure()
    {
        var seen = new HashSet<string>();
        var todo = new Stack<string>([Path.GetFullPath(ProjectPath)]);
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
}
