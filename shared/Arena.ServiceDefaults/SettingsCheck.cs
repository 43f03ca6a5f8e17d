using System.Reflection;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Arena.ServiceDefaults;

/// <summary>An options type bound from a configuration section by this service.</summary>
public sealed record BoundSection(string Section, Type OptionsType);

/// <summary>
/// Warns at start-up about every setting in an Arena section that this service does not
/// read, so a misspelt <c>Arena__Partiton</c> or a setting meant for another service is
/// reported instead of silently ignored.
/// </summary>
public sealed class SettingsCheck(IConfiguration configuration, IEnumerable<BoundSection> bound, ILogger<SettingsCheck> logger) : IHostedService
{
    /// <summary>The sections the Arena services read; settings elsewhere are not ours to judge.</summary>
    public static readonly IReadOnlyList<string> ArenaSections = ["Arena", "Ingest", "Persister", "Ranker", "SseGateway"];

    /// <summary>Settings that were read under another name before, and the variable that sets them now.</summary>
    private static readonly Dictionary<string, string> Moved = new(StringComparer.OrdinalIgnoreCase)
    {
        ["Arena:PersisterUrl"] = "SseGateway__PersisterUrl",
        ["Arena:RankerUrl"] = "SseGateway__RankerUrl",
    };

    public Task StartAsync(CancellationToken cancellationToken)
    {
        foreach (var key in UnusedSettings(configuration, bound))
        {
            if (Moved.TryGetValue(key, out var now))
            {
                logger.LogWarning("Setting {Setting} has moved: set {Variable} instead", key, now);
            }
            else
            {
                logger.LogWarning("Setting {Setting} is not used by this service; check its name and section", key);
            }
        }
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Keys (<c>Section:Name</c>) with a value in an Arena section that no bound options type has.</summary>
    public static IEnumerable<string> UnusedSettings(IConfiguration configuration, IEnumerable<BoundSection> bound)
    {
        var types = bound.ToLookup(b => b.Section, b => b.OptionsType, StringComparer.OrdinalIgnoreCase);
        foreach (var section in ArenaSections)
        {
            foreach (var (key, value) in configuration.GetSection(section).AsEnumerable(makePathsRelative: true))
            {
                if (value is not null && !types[section].Any(t => Reads(t, key.Split(':'))))
                {
                    yield return $"{section}:{key}";
                }
            }
        }
    }

    private static bool Reads(Type type, ReadOnlySpan<string> path)
    {
        var property = type.GetProperty(path[0], BindingFlags.Public | BindingFlags.Instance | BindingFlags.IgnoreCase);
        if (property is null || !property.CanWrite)
        {
            return false;
        }
        return path.Length == 1 || (!IsLeaf(property.PropertyType) && Reads(property.PropertyType, path[1..]));
    }

    internal static bool IsLeaf(Type type) =>
        type.IsPrimitive || type.IsEnum || type == typeof(string) || type == typeof(decimal) || type == typeof(TimeSpan)
        || type == typeof(Uri) || Nullable.GetUnderlyingType(type) is not null;
}
