using System.Globalization;
using System.Text.RegularExpressions;
using Arena.Harness;

namespace Arena.Chaos;

/// <summary>Requests a service answered with one 5xx status on one route.</summary>
public sealed record ServerError(string Service, string Route, int Status, long Count)
{
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Service} {Route} {Status} × {Count}");
}

/// <summary>What the services counted themselves, read from their <c>/metrics</c> before they stop.</summary>
public static partial class ServiceMetrics
{
    private static readonly string[] Scraped = [Services.Ingest, Services.Persister, Services.Ranker, Services.Gateway];

    /// <summary>
    /// Requests the services answered with a 5xx, by route and status, from ASP.NET Core's request
    /// histogram, beyond those of <paramref name="before"/>: the 503s of <c>/readyz</c> while a
    /// service starts are the harness's own polling, not an answer to a client.
    /// </summary>
    public static async Task<IReadOnlyList<ServerError>> ServerErrorsAsync(ChaosPipeline pipeline, IReadOnlyList<ServerError>? before = null)
    {
        var errors = new List<ServerError>();
        foreach (var name in Scraped)
        {
            errors.AddRange(ServerErrorCount().Matches(await pipeline[name].Http.GetStringAsync("/metrics"))
                .Select(m => new ServerError(name, m.Groups["route"].Success ? m.Groups["route"].Value : "(no route)",
                    int.Parse(m.Groups["status"].Value, CultureInfo.InvariantCulture), long.Parse(m.Groups["count"].Value, CultureInfo.InvariantCulture)))
                .Select(e => e with { Count = e.Count - (before?.FirstOrDefault(b => (b.Service, b.Route, b.Status) == (e.Service, e.Route, e.Status))?.Count ?? 0) })
                .Where(e => e.Count > 0));
        }
        return errors;
    }

    /// <summary>Stream requests the gateway refused over the per-client limit (<c>arena_sse_refused_total</c>).</summary>
    public static async Task<long> RefusedPerClientAsync(ServiceProcess gateway) =>
        RefusedPerClient().Matches(await gateway.Http.GetStringAsync("/metrics")).Sum(m => long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture));

    [GeneratedRegex(@"^http_server_request_duration_seconds_count\{(?=[^}]*http_response_status_code=""(?<status>5\d\d)"")(?:(?=[^}]*http_route=""(?<route>[^""]*)""))?[^}]*\} (?<count>\d+)", RegexOptions.Multiline)]
    private static partial Regex ServerErrorCount();

    [GeneratedRegex(@"^arena_sse_refused_total\{[^}]*reason=""per_client""[^}]*\} (\d+)", RegexOptions.Multiline)]
    private static partial Regex RefusedPerClient();
}
