using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Reflection;

namespace Arena.Harness;

/// <summary>Where the repository is: the tools start the services from their build output.</summary>
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

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public static async Task UntilAsync(Func<Task<bool>> condition, string what, TimeSpan timeout)
    {
        var deadline = Stopwatch.StartNew();
        while (!await condition())
        {
            if (deadline.Elapsed > timeout)
            {
                throw new TimeoutException($"{what} did not happen within {timeout.TotalSeconds:F0} s");
            }
            await Task.Delay(50);
        }
    }
}
