using System.Reflection.PortableExecutable;
using Arena.Harness;

namespace Arena.Pipeline.Tests.Deployment;

/// <summary>
/// A Release build leaves every service compiled ahead of time (<c>services/ReadyToRun.props</c>):
/// its own assembly and its libraries' in its build output are ReadyToRun images, which the
/// tests, the bench and <c>make run</c> start. A Debug build leaves them IL only.
/// </summary>
public sealed class ReadyToRunTests
{
    public static TheoryData<string> Services => DeployedService.Names();

    [Theory]
    [MemberData(nameof(Services))]
    public void Release_build_of_the_service_is_compiled_ahead_of_time(string name)
    {
        var release = Repo.Configuration == "Release";
        var service = DeployedService.Named(name);
        var dll = Repo.Binary(service.Dir, service.Assembly);
        foreach (var assembly in new[] { dll, Path.Combine(Path.GetDirectoryName(dll)!, "StackExchange.Redis.dll") })
        {
            Assert.True(IsReadyToRun(assembly) == release,
                release ? $"{assembly} is IL only: the Release build did not compile it ahead of time" : $"{assembly} was compiled ahead of time in {Repo.Configuration}");
        }
    }

    /// <summary>Whether the assembly carries native code beside its IL (a ReadyToRun header in its CLI header).</summary>
    private static bool IsReadyToRun(string path)
    {
        using var reader = new PEReader(File.OpenRead(path));
        return reader.PEHeaders.CorHeader is { ManagedNativeHeaderDirectory.Size: > 0 };
    }
}
