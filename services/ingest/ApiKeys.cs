using System.Security.Cryptography;
using System.Text;
using Arena.ServiceDefaults;
using Microsoft.Extensions.Options;

namespace Arena.Ingest;

/// <summary>
/// The configured API keys, kept only as SHA-256 digests and compared in constant time.
/// With no keys configured the API is open.
/// </summary>
public sealed class ApiKeys(IOptions<ArenaOptions> options)
{
    private readonly byte[][] _digests = [.. options.Value.ApiKeyList().Select(Digest)];

    public bool Required => _digests.Length > 0;

    /// <summary>The key from <c>Authorization: Bearer …</c> or <c>X-Api-Key</c>.</summary>
    public static string? Presented(HttpRequest request)
    {
        var authorization = request.Headers.Authorization.ToString();
        if (authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return authorization["Bearer ".Length..].Trim();
        }
        var header = request.Headers["X-Api-Key"].ToString();
        return header.Length > 0 ? header : null;
    }

    public bool IsValid(string? presented)
    {
        if (presented is null)
        {
            return false;
        }
        var digest = Digest(presented);
        var match = false;
        foreach (var known in _digests)
        {
            // No early exit: every key is compared, so timing tells nothing about which matched.
            match |= CryptographicOperations.FixedTimeEquals(digest, known);
        }
        return match;
    }

    private static byte[] Digest(string key) => SHA256.HashData(Encoding.UTF8.GetBytes(key));
}
