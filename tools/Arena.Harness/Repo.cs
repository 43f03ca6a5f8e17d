using System.Reflection;

namespace Arena.Harness;

/// <summary>Where the repository and its build output are: the services and tools are started from there.</summary>
public static class Repo
{
    public static readonly string Root = FindRoot(AppContext.BaseDirectory);

    /// <summary>The build configuration the harness was built in; the services are taken from the same one.</summary>
    public static readonly string Configuration = typeof(Repo).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(a => a.Key == "Configuration").Value!;

    private static string FindRoot(string dir) =>
        File.Exists(Path.Combine(dir, "Arena.slnx")) ? dir
        : Directory.GetParent(dir) is { } parent ? FindRoot(parent.FullName)
        : throw new InvalidOperationException("Arena.slnx not found above " + AppContext.BaseDirectory);

    /// <summary>The built entry assembly of a project, e.g. <c>("tools/Arena.Simulator", "arena-sim")</c>, from <see cref="Configuration"/>.</summary>
    public static string Binary(string projectDir, string assembly)
    {
        var path = Path.Combine(Root, projectDir, "bin", Configuration, "net10.0", assembly + ".dll");
        return File.Exists(path) ? path : throw new FileNotFoundException($"{path} is missing: build the solution in {Configuration} first.", path);
    }

    /// <summary>A new empty folder under the temp folder, named <c>arena-{prefix}-…</c>.</summary>
    public static string NewTempDir(string prefix) => Directory.CreateTempSubdirectory($"arena-{prefix}-").FullName;
}
