using System.ComponentModel.DataAnnotations;
using StackExchange.Redis;

namespace Arena.ServiceDefaults;

/// <summary>The settings every service shares, bound from the <c>Arena</c> section (<c>Arena__*</c>).</summary>
public sealed class ArenaOptions : IValidatableObject
{
    public const string Section = "Arena";

    /// <summary>StackExchange.Redis configuration string.</summary>
    [Required]
    public string Redis { get; set; } = "127.0.0.1:6379";

    /// <summary>Where a service keeps its DuckDB file.</summary>
    [Required]
    public string DataDir { get; set; } = "./data";

    [Range(1, 1024)]
    public int Partitions { get; set; } = 1;

    /// <summary>Comma-separated ingest API keys, each <c>name:key</c> or a bare key (see <see cref="ProducerKeys"/>); empty leaves publishing open.</summary>
    public string ApiKeys { get; set; } = "";

    /// <summary>
    /// Comma-separated tokens any of which opens the read APIs (history, leaderboard, streams);
    /// empty leaves them open. Several allow a rotation; a service calling another presents the first.
    /// </summary>
    public string ReadToken { get; set; } = "";

    /// <summary>Comma-separated origins (<c>https://host[:port]</c>) whose pages may call the APIs from a browser; empty sends no CORS headers.</summary>
    public string CorsOrigins { get; set; } = "";

    [Required]
    public Uri PersisterUrl { get; set; } = new("http://127.0.0.1:8082");

    [Required]
    public Uri RankerUrl { get; set; } = new("http://127.0.0.1:8083");

    public IReadOnlyList<ProducerKey> ProducerKeyList() => ProducerKeys.Parse(ApiKeys, []);

    public IReadOnlyList<string> ReadTokens() => List(ReadToken);

    public IReadOnlyList<string> CorsOriginList() => List(CorsOrigins);

    private static string[] List(string setting) =>
        setting.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        string? problem = null;
        try
        {
            ConfigurationOptions.Parse(Redis);
        }
        catch (ArgumentException e)
        {
            // The message names the offending option, never the password's value.
            problem = $"Arena:Redis is not a valid StackExchange.Redis configuration string: {e.Message}";
        }
        if (problem is not null)
        {
            yield return new ValidationResult(problem, [nameof(Redis)]);
        }

        var keyProblems = new List<string>();
        ProducerKeys.Parse(ApiKeys, keyProblems);
        foreach (var keyProblem in keyProblems)
        {
            yield return new ValidationResult(keyProblem, [nameof(ApiKeys)]);
        }
        if (ReadTokens().Any(t => !SecretDigests.IsWellFormed(t)))
        {
            yield return new ValidationResult($"Arena:ReadToken: a token may hold only {SecretDigests.WellFormed}", [nameof(ReadToken)]);
        }
        foreach (var origin in CorsOriginList().Where(o => !IsOrigin(o)))
        {
            yield return new ValidationResult(
                $"Arena:CorsOrigins: '{origin}' is not an origin; expected scheme://host[:port] as a browser sends it: http or https, lower case, no path or trailing slash", [nameof(CorsOrigins)]);
        }
    }

    private static bool IsOrigin(string origin) =>
        Uri.TryCreate(origin, UriKind.Absolute, out var uri)
        && uri.Scheme is "http" or "https"
        && uri.GetLeftPart(UriPartial.Authority) == origin;
}
