using System.Text.RegularExpressions;
using Arena.ServiceDefaults;

namespace Arena.Pipeline.Tests.Deployment;

/// <summary>
/// docs/configuration.md against the services as built: every setting a service reads (its
/// <c>settings</c> command) has a row with its default, and every row names a setting some
/// service reads.
/// </summary>
public sealed partial class ConfigurationDocTests
{
    private static readonly string Doc = Path.Combine(Repo.Root, "docs", "configuration.md");

    [Fact]
    public async Task Every_setting_the_services_read_is_documented_with_its_default_and_nothing_else_is()
    {
        var read = new Dictionary<string, string>();
        foreach (var service in DeployedService.All)
        {
            foreach (var (name, value) in await service.SettingsAsync())
            {
                read[name] = value;
            }
        }
        Assert.Contains("Ingest__MaxEvents", read.Keys);
        Assert.Contains("Ranker__BatchSize", read.Keys);

        var documented = Documented();
        var problems = new List<string>();
        foreach (var (name, value) in read.OrderBy(r => r.Key, StringComparer.Ordinal))
        {
            // "Every consumer service takes the same consumer settings in its own section":
            // the ranker's consumer settings are documented by the persister's rows.
            var row = documented.GetValueOrDefault(name)
                ?? (name.StartsWith("Ranker__", StringComparison.Ordinal) ? documented.GetValueOrDefault("Persister__" + name["Ranker__".Length..]) : null);
            if (row is null)
            {
                problems.Add($"{name} (default '{value}') has no row");
            }
            else if (!DefaultMatches(row, value) && documented.ContainsKey(name))
            {
                problems.Add($"{name}: the row says {row}, the service's default is '{value}'");
            }
        }
        problems.AddRange(documented.Keys.Where(name => !read.ContainsKey(name)).Select(name => $"{name} has a row but no service reads it"));
        Assert.True(problems.Count == 0, string.Join(Environment.NewLine, problems));
    }

    /// <summary>An empty default reads "empty …", "unset" or names a value built at start-up (<c>&lt;host&gt;</c>); any other is the row's first code span.</summary>
    private static bool DefaultMatches(string cell, string value) =>
        value.Length == 0
            ? cell.StartsWith("empty", StringComparison.Ordinal) || cell.StartsWith("unset", StringComparison.Ordinal) || cell.Contains('<', StringComparison.Ordinal)
            : CodeSpan().Match(cell) is { Success: true } span && span.Groups[1].Value == value;

    /// <summary>Setting name → default cell, from every table row whose first cell names settings of the Arena sections.</summary>
    private static Dictionary<string, string> Documented()
    {
        var rows = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in File.ReadLines(Doc).Where(l => l.StartsWith("| `", StringComparison.Ordinal)))
        {
            var cells = line.Split(" | ");
            if (cells.Length < 3)
            {
                continue;
            }
            foreach (Match name in SettingName().Matches(cells[0]))
            {
                if (SettingsCheck.ArenaSections.Contains(name.Groups[1].Value))
                {
                    Assert.True(rows.TryAdd(name.Groups[0].Value.Trim('`'), cells[1].Trim()), $"{name.Value} has two rows");
                }
            }
        }
        return rows;
    }

    [GeneratedRegex("`([A-Za-z]+)__[A-Za-z]+(?:__[A-Za-z]+)*`")]
    private static partial Regex SettingName();

    [GeneratedRegex("`([^`]*)`")]
    private static partial Regex CodeSpan();
}
