using Microsoft.Extensions.Configuration;

namespace Arena.ServiceDefaults;

/// <summary>
/// <c>&lt;service&gt; healthcheck</c>: asks the running service on this host for
/// <c>/healthz</c> and exits 0 when it answers 200, else 1. Container health checks use it,
/// so the runtime image needs no curl.
/// </summary>
public static class HealthProbe
{
    public const string Command = "healthcheck";

    public static bool IsRequested(string[] args) => args is [Command, ..];

    public static async Task<int> RunAsync(string[] args, int defaultPort)
    {
        var url = new Uri(LocalUrl(args, defaultPort), "/healthz");
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(3) };
        try
        {
            using var response = await client.GetAsync(url);
            Console.WriteLine($"{url}: {(int)response.StatusCode}");
            return response.IsSuccessStatusCode ? 0 : 1;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            Console.WriteLine($"{url}: {e.Message}");
            return 1;
        }
    }

    /// <summary>The first listen address (<c>ASPNETCORE_URLS</c> or <c>--urls</c>), with a wildcard host made loopback.</summary>
    public static Uri LocalUrl(string[] args, int defaultPort)
    {
        var configuration = new ConfigurationBuilder()
            .AddEnvironmentVariables("ASPNETCORE_")
            .AddCommandLine(args[1..])
            .Build();
        var first = (configuration["urls"] ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .FirstOrDefault() ?? $"http://127.0.0.1:{defaultPort}";
        var wildcard = first.Replace("://+", "://127.0.0.1", StringComparison.Ordinal)
            .Replace("://*", "://127.0.0.1", StringComparison.Ordinal)
            .Replace("://0.0.0.0", "://127.0.0.1", StringComparison.Ordinal)
            .Replace("://[::]", "://127.0.0.1", StringComparison.Ordinal);
        return new Uri(wildcard);
    }
}
