using System.Globalization;
using System.Reflection;

namespace Arena.ServiceDefaults;

/// <summary>
/// <c>&lt;service&gt; settings</c>: prints every setting the service reads, one
/// <c>Section__Name=default</c> line each (the form of an environment file), and exits 0
/// without starting. The defaults are the options types' own, before any configuration; the
/// documentation's settings tables are checked against this list.
/// </summary>
public static class SettingsList
{
    public const string Command = "settings";

    /// <summary>Registered when the command was given, so the built service prints instead of running.</summary>
    internal sealed class Requested;

    public static bool IsRequested(string[] args) => args is [Command, ..];

    public static IEnumerable<string> Lines(IEnumerable<BoundSection> bound) =>
        bound.SelectMany(b => Settings(b.Section, b.OptionsType, Activator.CreateInstance(b.OptionsType)));

    private static IEnumerable<string> Settings(string prefix, Type type, object? instance)
    {
        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite))
        {
            var name = $"{prefix}__{property.Name}";
            var value = instance is null ? null : property.GetValue(instance);
            if (SettingsCheck.IsLeaf(property.PropertyType))
            {
                yield return $"{name}={Format(value)}";
                continue;
            }
            foreach (var line in Settings(name, property.PropertyType, value))
            {
                yield return line;
            }
        }
    }

    private static string Format(object? value) => value switch
    {
        null => "",
        TimeSpan t when t.Days > 0 => t.ToString("c", CultureInfo.InvariantCulture),
        TimeSpan t when t.Ticks % TimeSpan.TicksPerSecond == 0 => t.ToString(@"hh\:mm\:ss", CultureInfo.InvariantCulture),
        TimeSpan t => t.ToString(@"hh\:mm\:ss\.fff", CultureInfo.InvariantCulture),
        bool b => b ? "true" : "false",
        Uri u => u.OriginalString,
        _ => Convert.ToString(value, CultureInfo.InvariantCulture) ?? "",
    };
}
