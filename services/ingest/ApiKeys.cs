using Arena.Security;
using Microsoft.Extensions.Options;

namespace Arena.Ingest;

/// <summary>Who sent a request: the producer name of its API key, or null while ingest is open.</summary>
public sealed record Caller(string? Producer);

/// <summary>
/// The configured API keys (<c>Arena:ApiKeys</c>), each with the producer name recorded with
/// the events it publishes. Keys are kept only as digests and matched in constant time; with
/// no keys configured the API is open.
/// </summary>
public sealed class ApiKeys
{
    private static readonly Caller Anonymous = new((string?)null);

    private readonly SecretDigests _keys;
    private readonly Caller[] _callers;

    public ApiKeys(IOptions<SecurityOptions> options)
    {
        var keys = options.Value.ProducerKeyList();
        _keys = new SecretDigests(keys.Select(k => k.Key));
        _callers = [.. keys.Select(k => new Caller(k.Producer))];
    }

    /// <summary>
    /// The caller of <paramref name="http"/>: <see cref="Anonymous"/> while ingest is open, the
    /// key's producer, or null when keys are required and none matches. Decided once per
    /// request (the rate limiter asks before the endpoint).
    /// </summary>
    public Caller? Identify(HttpContext http)
    {
        if (http.Items.TryGetValue(typeof(Caller), out var known))
        {
            return (Caller?)known;
        }
        var caller = _keys.IsEmpty ? Anonymous : _keys.IndexOf(Presented(http.Request)) is var i and >= 0 ? _callers[i] : null;
        http.Items[typeof(Caller)] = caller;
        return caller;
    }

    /// <summary>The key from <c>Authorization: Bearer …</c> or <c>X-Api-Key</c>.</summary>
    private static string? Presented(HttpRequest request)
    {
        if (SecretDigests.Bearer(request) is { } bearer)
        {
            return bearer;
        }
        var header = request.Headers["X-Api-Key"].ToString();
        return header.Length > 0 ? header : null;
    }
}
