using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http;

namespace Arena.Security;

/// <summary>
/// Secrets (ingest API keys, read tokens) kept only as SHA-256 digests and matched in
/// constant time: every digest is compared, whatever matches, so timing tells nothing about
/// which secret matched or how much of one did.
/// </summary>
public sealed partial class SecretDigests(IEnumerable<string> secrets)
{
    private readonly byte[][] _digests = [.. secrets.Select(Digest)];

    public bool IsEmpty => _digests.Length == 0;

    /// <summary>The position of the secret <paramref name="presented"/> matches, or -1.</summary>
    public int IndexOf(string? presented)
    {
        if (presented is null)
        {
            return -1;
        }
        var digest = Digest(presented);
        var found = -1;
        for (var i = 0; i < _digests.Length; i++)
        {
            // No early exit and no branch on the outcome of a comparison.
            var equal = CryptographicOperations.FixedTimeEquals(digest, _digests[i]) ? 1 : 0;
            found = (found & (equal - 1)) | (i & -equal);
        }
        return found;
    }

    /// <summary>What a secret may hold: it travels in headers, URLs and comma-separated settings.</summary>
    public const string WellFormed = "printable ASCII characters other than space and comma";

    public static bool IsWellFormed(string secret) => Printable().IsMatch(secret);

    public static byte[] Digest(string secret) => SHA256.HashData(Encoding.UTF8.GetBytes(secret));

    /// <summary>The token of an <c>Authorization: Bearer …</c> header, or null.</summary>
    public static string? Bearer(HttpRequest request)
    {
        var authorization = request.Headers.Authorization.ToString();
        return authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)
            ? authorization["Bearer ".Length..].Trim()
            : null;
    }

    [GeneratedRegex("^[!-+--~]+$")]
    private static partial Regex Printable();
}
