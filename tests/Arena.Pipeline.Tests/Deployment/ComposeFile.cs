using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Arena.Pipeline.Tests.Deployment;

/// <summary><c>deploy/compose/compose.yaml</c> as compose reads it: merge keys resolved, <c>${VAR}</c> interpolated.</summary>
public sealed partial class ComposeFile
{
    public static readonly string Dir = Path.Combine(Repo.Root, "deploy", "compose");

    private readonly YamlMappingNode _root;
    private readonly YamlMappingNode _services;
    private readonly IReadOnlyDictionary<string, string> _variables;

    public ComposeFile(IReadOnlyDictionary<string, string> variables)
    {
        _variables = variables;
        using var reader = new StreamReader(Path.Combine(Dir, "compose.yaml"));
        var yaml = new YamlStream();
        yaml.Load(new MergingParser(new Parser(reader)));
        _root = (YamlMappingNode)yaml.Documents[0].RootNode;
        _services = (YamlMappingNode)_root["services"];
    }

    /// <summary>The variables of <c>.env.example</c>, each given a distinct test value where it is empty.</summary>
    public static Dictionary<string, string> ExampleVariables() =>
        File.ReadAllLines(Path.Combine(Dir, ".env.example"))
            .Where(line => line.Contains('=', StringComparison.Ordinal) && !line.TrimStart().StartsWith('#'))
            .Select(line => line.Split('=', 2))
            .ToDictionary(kv => kv[0].Trim(), kv => kv[1].Trim());

    public IEnumerable<string> ServiceNames => _services.Children.Keys.Select(k => ((YamlScalarNode)k).Value!);

    /// <summary>The named volumes of the top-level <c>volumes</c>.</summary>
    public IEnumerable<string> VolumeNames => ((YamlMappingNode)_root["volumes"]).Children.Keys.Select(k => ((YamlScalarNode)k).Value!);

    /// <summary>The users of <c>redis/acl.rules</c>, each with its rules (a selector in parentheses is one rule).</summary>
    public static Dictionary<string, IReadOnlyList<string>> AclUsers() =>
        File.ReadAllLines(Path.Combine(Dir, "redis", "acl.rules"))
            .Where(line => line.StartsWith("user ", StringComparison.Ordinal))
            .Select(line => AclRule().Matches(line).Select(m => m.Value).ToList())
            .ToDictionary(rules => rules[1], rules => (IReadOnlyList<string>)rules[2..]);

    public YamlMappingNode Service(string name) => (YamlMappingNode)_services[name];

    public static YamlNode? Child(YamlMappingNode node, string key) =>
        node.Children.TryGetValue(new YamlScalarNode(key), out var value) ? value : null;

    public static IReadOnlyList<string> Strings(YamlNode? node) => node switch
    {
        null => [],
        YamlSequenceNode sequence => [.. sequence.Children.Select(c => ((YamlScalarNode)c).Value!)],
        YamlScalarNode scalar => [scalar.Value!],
        _ => throw new InvalidOperationException($"Expected a list at {node.Start}"),
    };

    /// <summary>A service's environment, interpolated.</summary>
    public Dictionary<string, string> Environment(string service) =>
        Child(Service(service), "environment") is YamlMappingNode environment
            ? environment.Children.ToDictionary(kv => ((YamlScalarNode)kv.Key).Value!, kv => Interpolate(((YamlScalarNode)kv.Value).Value ?? ""))
            : [];

    public IReadOnlyList<string> List(string service, string key) => [.. Strings(Child(Service(service), key)).Select(Interpolate)];

    /// <summary>Compose's <c>${VAR}</c>, <c>${VAR:-default}</c> and <c>${VAR:?error}</c>; <c>$$</c> is a literal <c>$</c>.</summary>
    public string Interpolate(string value) => Variable().Replace(value, m =>
    {
        if (m.Value == "$$")
        {
            return "$";
        }
        var name = m.Groups["name"].Value;
        var set = _variables.TryGetValue(name, out var v) && v.Length > 0;
        return m.Groups["op"].Value switch
        {
            ":-" => set ? v! : m.Groups["arg"].Value,
            ":?" => set ? v! : throw new InvalidOperationException($"compose would refuse to start: {name}: {m.Groups["arg"].Value}"),
            _ => v ?? "",
        };
    });

    [GeneratedRegex(@"\([^)]*\)|\S+")]
    private static partial Regex AclRule();

    [GeneratedRegex(@"\$\$|\$\{(?<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?<op>:-|:\?)(?<arg>[^}]*))?\}")]
    private static partial Regex Variable();
}
