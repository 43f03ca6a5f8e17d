using System.Reflection;

namespace Arena.Pipeline.Tests.Infrastructure;

internal static class Paths
{
    private static string Metadata(string key) =>
        typeof(Paths).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == key).Value!;

    public static string RepoRoot => Metadata("RepoRoot");

    /// <summary>The built entry assembly of a service or tool, from the same build configuration as the tests.</summary>
    public static string Binary(string projectDir, string assembly)
    {
        var path = Path.Combine(RepoRoot, projectDir, "bin", Metadata("Configuration"), "net10.0", assembly + ".dll");
        return File.Exists(path) ? path : throw new FileNotFoundException($"{path} is missing; build the solution first.", path);
    }

    public static string NewTempDir(string prefix)
    {
        var dir = Path.Combine(Path.GetTempPath(), $"arena-{prefix}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        return dir;
    }
}
