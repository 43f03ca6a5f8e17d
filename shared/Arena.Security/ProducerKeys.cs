using System.Globalization;
using System.Text.RegularExpressions;

namespace Arena.Security;

/// <summary>One ingest API key and the producer name recorded with the events it publishes.</summary>
public sealed record ProducerKey(string Producer, string Key);

/// <summary>
/// <c>Arena:ApiKeys</c>: comma-separated entries, each <c>name:key</c> or a bare <c>key</c>.
/// A bare key's producer is <c>key-</c> and the first 8 hex digits of its SHA-256, stable
/// and never the key itself. The separator is a colon because it is in none of the usual key
/// alphabets (hex, base64, base64url), where <c>=</c> would be; a key that holds a colon
/// must therefore be given a name. Problems name the entry by position, never by its key.
/// </summary>
public static partial class ProducerKeys
{
    public static IReadOnlyList<ProducerKey> Parse(string setting, List<string> problems)
    {
        var keys = new List<ProducerKey>();
        var entries = setting.Split(',', StringSplitOptions.TrimEntries);
        var digests = new HashSet<string>(StringComparer.Ordinal);
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < entries.Length; i++)
        {
            if (entries[i].Length == 0)
            {
                // Stray commas were always allowed.
                continue;
            }
            var where = string.Create(CultureInfo.InvariantCulture, $"Arena:ApiKeys entry {i + 1}");
            var colon = entries[i].IndexOf(':', StringComparison.Ordinal);
            var key = colon < 0 ? entries[i] : entries[i][(colon + 1)..];
            if (key.Length == 0)
            {
                problems.Add($"{where} has no key");
                continue;
            }
            if (!SecretDigests.IsWellFormed(key))
            {
                problems.Add($"{where}: a key may hold only {SecretDigests.WellFormed}");
                continue;
            }
            var digest = Convert.ToHexStringLower(SecretDigests.Digest(key));
            var name = colon < 0 ? "key-" + digest[..8] : entries[i][..colon];
            if (!NameCharacters().IsMatch(name))
            {
                problems.Add($"{where}: the producer name '{name}' must be 1 to 64 characters of A-Z a-z 0-9 . _ -");
                continue;
            }
            if (!digests.Add(digest))
            {
                problems.Add($"{where} repeats the key of an earlier entry");
                continue;
            }
            if (!names.Add(name))
            {
                problems.Add($"{where} repeats the producer name '{name}'");
                continue;
            }
            keys.Add(new ProducerKey(name, key));
        }
        return keys;
    }

    [GeneratedRegex("^[A-Za-z0-9._-]{1,64}$")]
    private static partial Regex NameCharacters();
}
