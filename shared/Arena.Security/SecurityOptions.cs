using System.ComponentModel.DataAnnotations;
using Arena.ServiceDefaults;

namespace Arena.Security;

/// <summary>
/// The access-control settings every service shares. They keep their place in the shared
/// <c>Arena</c> section (<c>Arena__ApiKeys</c>, <c>Arena__ReadToken</c>,
/// <c>Arena__CorsOrigins</c>) beside <see cref="ArenaOptions"/>, and are validated at start-up.
/// </summary>
public sealed class SecurityOptions : IValidatableObject
{
    public const string Section = ArenaOptions.Section;

    /// <summary>Comma-separated ingest API keys, each <c>name:key</c> or a bare key (see <see cref="ProducerKeys"/>); empty leaves publishing open.</summary>
    public string ApiKeys { get; set; } = "";

    /// <summary>
    /// Comma-separated tokens any of which opens the read APIs (history, leaderboard, streams);
    /// empty leaves them open. Several allow a rotation; a service calling another presents the first.
    /// </summary>
    public string ReadToken { get; set; } = "";

    /// <summary>Comma-separated origins (<c>https://host[:port]</c>) whose pages may call the APIs from a browser; empty sends no CORS headers.</summary>
    public string CorsOrigins { get; set; } = "";

    public IReadOnlyList<ProducerKey> ProducerKeyList() => ProducerKeys.Parse(ApiKeys, []);

    public IReadOnlyList<string> ReadTokens() => List(ReadToken);

    public IReadOnlyList<string> CorsOriginList() => List(CorsOrigins);

    private static string[] List(string setting) =>
        setting.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        var keyProblems = new List<string>();
        ProducerKeys.Parse(ApiKeys, keyProblems);
        foreach (var keyProblem in keyProblems)
        {
            yield return new ValidationResult(keyProblem, [nameof(ApiKeys)]);
        }
        if (ReadTokens().Any(t => !SecretDigests.IsWellFormed(t)))
        {
            yield return new ValidationResult($"a token may hold only {SecretDigests.WellFormed}", [nameof(ReadToken)]);
        }
        foreach (var origin in CorsOriginList().Where(o => !IsOrigin(o)))
        {
            yield return new ValidationResult(
                $"'{origin}' is not an origin; expected scheme://host[:port] as a browser sends it: http or https, lower case, no path or trailing slash", [nameof(CorsOrigins)]);
        }
    }

    private static bool IsOrigin(string origin) =>
        Uri.TryCreate(origin, UriKind.Absolute, out var uri)
        && uri.Scheme is "http" or "https"
        && uri.GetLeftPart(UriPartial.Authority) == origin;
}
