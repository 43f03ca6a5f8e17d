using YamlDotNet.RepresentationModel;

namespace Arena.Pipeline.Tests.Deployment;

/// <summary>
/// The compose stack's Prometheus files under Prometheus' own <c>promtool</c>: the configuration
/// and rules are valid, and every alert fires on the series of its unit tests
/// (<c>alerts.test.yml</c> beside this file) with the labels given there, and only then.
/// </summary>
public sealed class AlertRulesTests
{
    private static readonly string PrometheusDir = Path.Combine(ComposeFile.Dir, "prometheus");
    private static readonly string UnitTests = Path.Combine(Repo.Root, "tests", "Arena.Pipeline.Tests", "Deployment", "alerts.test.yml");

    [Fact]
    public async Task Prometheus_configuration_and_its_alert_rules_are_valid()
    {
        var (exit, output) = await Command.RunAsync("promtool", ["check", "config", Path.Combine(PrometheusDir, "prometheus.yml")]);
        Assert.True(exit == 0, output);
        Assert.Contains($"{AlertNames(Path.Combine(PrometheusDir, "alerts.yml")).Count} rules found", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Every_alert_fires_on_its_unit_test_series_with_its_labels_and_not_before()
    {
        var dir = Repo.NewTempDir("alerts");
        try
        {
            // The annotations are prose for the person paged (promtool check rules checks their templates);
            // without them a unit test states only when an alert fires and with which labels.
            var rules = new YamlStream();
            using (var reader = new StreamReader(Path.Combine(PrometheusDir, "alerts.yml")))
            {
                rules.Load(reader);
            }
            foreach (var rule in Rules(rules))
            {
                rule.Children.Remove(new YamlScalarNode("annotations"));
            }
            using (var writer = new StreamWriter(Path.Combine(dir, "alerts.yml")))
            {
                rules.Save(writer, assignAnchors: false);
            }
            File.Copy(UnitTests, Path.Combine(dir, "alerts.test.yml"));

            var (exit, output) = await Command.RunAsync("promtool", ["test", "rules", Path.Combine(dir, "alerts.test.yml")]);
            Assert.True(exit == 0, output);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Every_alert_has_a_unit_test_that_makes_it_fire()
    {
        var tests = new YamlStream();
        using (var reader = new StreamReader(UnitTests))
        {
            tests.Load(reader);
        }
        var firing = ((YamlSequenceNode)((YamlMappingNode)tests.Documents[0].RootNode)["tests"]).Children.Cast<YamlMappingNode>()
            .SelectMany(test => ((YamlSequenceNode)test["alert_rule_test"]).Children.Cast<YamlMappingNode>())
            .Where(check => ((YamlSequenceNode)check["exp_alerts"]).Children.Count > 0)
            .Select(check => ((YamlScalarNode)check["alertname"]).Value!)
            .ToHashSet();
        Assert.Empty(AlertNames(Path.Combine(PrometheusDir, "alerts.yml")).Except(firing));
    }

    private static List<string> AlertNames(string file)
    {
        var rules = new YamlStream();
        using (var reader = new StreamReader(file))
        {
            rules.Load(reader);
        }
        return [.. Rules(rules).Select(rule => ((YamlScalarNode)rule["alert"]).Value!)];
    }

    private static IEnumerable<YamlMappingNode> Rules(YamlStream rules) =>
        ((YamlSequenceNode)((YamlMappingNode)rules.Documents[0].RootNode)["groups"]).Children.Cast<YamlMappingNode>()
            .SelectMany(group => ((YamlSequenceNode)group["rules"]).Children.Cast<YamlMappingNode>());
}
