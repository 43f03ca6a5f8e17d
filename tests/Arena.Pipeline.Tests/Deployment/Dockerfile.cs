using System.Globalization;
using System.Text.RegularExpressions;
using Arena.Harness;
using Arena.Pipeline.Tests.Infrastructure;

namespace Arena.Pipeline.Tests.Deployment;

/// <summary>
/// <c>deploy/Dockerfile</c> as instructions (continuation lines joined, comments dropped), and a
/// service's image built from it as Docker builds it: the stages of its target, with its build
/// arguments and the stages' <c>ENV</c> substituted where Docker substitutes them.
/// </summary>
internal sealed partial class Dockerfile
{
    public const string RelativePath = "deploy/Dockerfile";

    /// <summary>The instructions in which the builder itself replaces <c>$VAR</c> and <c>${VAR}</c> (Dockerfile reference, "Environment replacement").</summary>
    private static readonly HashSet<string> Substituted = ["ADD", "COPY", "ENV", "EXPOSE", "FROM", "LABEL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR"];

    private Dockerfile(IReadOnlyList<(string Keyword, string Arguments)> instructions) => Instructions = instructions;

    public IReadOnlyList<(string Keyword, string Arguments)> Instructions { get; }

    public static Dockerfile Parse()
    {
        var text = File.ReadAllText(Path.Combine(Repo.Root, RelativePath));
        var logical = Regex.Replace(text, @"\\\r?\n", " ");
        return new Dockerfile([.. logical.Split('\n')
            .Select(line => line.Trim())
            .Where(line => line.Length > 0 && !line.StartsWith('#'))
            .Select(line => line.Split(' ', 2))
            .Select(parts => (parts[0].ToUpperInvariant(), parts.Length > 1 ? Spaces().Replace(parts[1].Trim(), " ") : ""))]);
    }

    /// <summary>The target of the operator tools' image (the arena CLI and the simulator).</summary>
    public const string ToolsTarget = "tools";

    /// <summary>The projects of the tools' image, as the repository names them.</summary>
    public static readonly string[] ToolProjects = ["tools/Arena.Cli/Arena.Cli.csproj", "tools/Arena.Simulator/Arena.Simulator.csproj"];

    /// <summary>The tools' version: the <c>Version</c> of <c>Directory.Build.props</c>, which their projects inherit.</summary>
    public static string ToolsVersion =>
        System.Xml.Linq.XDocument.Load(Path.Combine(Repo.Root, "Directory.Build.props")).Descendants("Version").Single().Value;

    /// <summary>Where the tools' image has <paramref name="project"/>'s assembly: the folder its <c>dotnet publish</c> writes, and the project's assembly name.</summary>
    public static string ToolDll(string project)
    {
        var publish = Regex.Match(Parse().Stage("tools-build").All("RUN").Single(), $@"dotnet publish {Regex.Escape(project)} -c Release -o (\S+)");
        Assert.True(publish.Success, $"the tools image publishes {project} in Release");
        var assembly = System.Xml.Linq.XDocument.Load(Path.Combine(Repo.Root, project)).Descendants("AssemblyName").Single().Value;
        return $"{publish.Groups[1].Value}/{assembly}.dll";
    }

    public static string SimulatorDll => ToolDll(ToolProjects[1]);

    /// <summary>The target a service's image is built as: with a <c>/data</c> volume or without.</summary>
    public static string Target(DeclaredService service) => service.KeepsData ? "runtime-with-data" : "runtime";

    /// <summary>The build arguments of a service's image: its columns of the manifest and its version.</summary>
    public static Dictionary<string, string> BuildArguments(DeclaredService service, string version) => new()
    {
        ["SERVICE"] = service.Name,
        ["ASSEMBLY"] = service.Assembly,
        ["PORT"] = service.Port.ToString(CultureInfo.InvariantCulture),
        ["VERSION"] = version,
    };

    /// <summary>The image of <paramref name="service"/>, as <c>make images</c> and compose build it.</summary>
    public static Dockerfile Of(DeclaredService service) =>
        Parse().Build(Target(service), BuildArguments(service, service.ProjectProperty("Version") ?? "0.0.0"));

    /// <summary>
    /// Every stage <paramref name="target"/> is built from (its own, those it is <c>FROM</c>, those it
    /// copies <c>--from</c>), in file order, with the variables Docker would replace replaced: in
    /// the instructions of <see cref="Substituted"/> by the builder, in <c>RUN</c> by its shell
    /// (build arguments are in its environment). <c>CMD</c>, <c>ENTRYPOINT</c> and <c>HEALTHCHECK</c>
    /// are left as written: a shell form is expanded only when the container runs, from its <c>ENV</c>.
    /// Variables of the base images (<c>$APP_UID</c>) are left as written too.
    /// </summary>
    public Dockerfile Build(string target, IReadOnlyDictionary<string, string> arguments)
    {
        var stages = Stages();
        var needed = new HashSet<string>();
        var todo = new Stack<string>([target]);
        while (todo.TryPop(out var name))
        {
            var stage = stages.SingleOrDefault(s => s.Name == name) ?? throw new InvalidOperationException($"{RelativePath} has no stage {name}");
            if (needed.Add(name))
            {
                foreach (var reference in stage.Instructions.Select(i => StageReference().Match(i.Keyword + " " + i.Arguments)).Where(m => m.Success))
                {
                    var used = reference.Groups["from"].Success ? reference.Groups["from"].Value : reference.Groups["copy"].Value;
                    if (stages.Any(s => s.Name == used))
                    {
                        todo.Push(used);
                    }
                }
            }
        }

        var global = Arguments(Instructions.TakeWhile(i => i.Keyword != "FROM"), arguments, new Dictionary<string, string>());
        var built = new List<(string, string)>();
        var environments = new Dictionary<string, Dictionary<string, string>>();
        foreach (var stage in stages.Where(s => needed.Contains(s.Name)))
        {
            var from = Substitute(stage.Instructions[0].Arguments, global).Split(' ')[0];
            // A stage built on another keeps its ENV (the image's configuration), not its ARGs.
            var variables = new Dictionary<string, string>(environments.GetValueOrDefault(from) ?? []);
            var environment = new Dictionary<string, string>(variables);
            foreach (var (keyword, written) in stage.Instructions)
            {
                var value = keyword == "FROM" ? Substitute(written, global)
                    : Substituted.Contains(keyword) || keyword == "RUN" ? Substitute(written, variables)
                    : written;
                built.Add((keyword, value));
                if (keyword == "ARG")
                {
                    foreach (var (name, argument) in Arguments([(keyword, value)], arguments, global))
                    {
                        variables[name] = argument;
                    }
                }
                else if (keyword == "ENV")
                {
                    foreach (var (name, setting) in Settings(value))
                    {
                        variables[name] = environment[name] = setting;
                    }
                }
            }
            environments[stage.Name] = environment;
        }
        return new Dockerfile(built);
    }

    public IEnumerable<string> All(string keyword) => Instructions.Where(i => i.Keyword == keyword).Select(i => i.Arguments);

    /// <summary>The instructions of one stage, by its name.</summary>
    public Dockerfile Stage(string name) => new([.. Stages().Single(s => s.Name == name).Instructions]);

    /// <summary>The instructions that make up the final image: the last stage and the stages it is <c>FROM</c>, base first.</summary>
    public Dockerfile Image()
    {
        var stages = Stages();
        var chain = new List<BuildStage> { stages[^1] };
        while (stages.SingleOrDefault(s => s.Name == chain[0].Instructions[0].Arguments.Split(' ')[0]) is { } parent)
        {
            chain.Insert(0, parent);
        }
        return new Dockerfile([.. chain.SelectMany(s => s.Instructions)]);
    }

    /// <summary><c>ENV</c> settings, in either form (<c>A=1 B=2</c> or <c>A 1</c>).</summary>
    public Dictionary<string, string> Environment() =>
        All("ENV").SelectMany(Settings).GroupBy(s => s.Name).ToDictionary(g => g.Key, g => g.Last().Value);

    /// <summary>The shell-form command of the image's <c>HEALTHCHECK</c>, as written.</summary>
    public string HealthCheck() =>
        Regex.Match(All("HEALTHCHECK").Single(), " CMD (.*)$") is { Success: true } m && !m.Groups[1].Value.StartsWith('[')
            ? m.Groups[1].Value
            : throw new InvalidOperationException("the image's HEALTHCHECK is not one shell-form command");

    /// <summary>The words of <see cref="HealthCheck"/> as the shell runs it, for a simple command: quotes removed, <c>$VAR</c> from the image's <c>ENV</c>.</summary>
    public IReadOnlyList<string> HealthCheckWords()
    {
        var env = Environment();
        return [.. Word().Matches(HealthCheck()).Select(w => Substitute(w.Groups["quoted"].Success ? w.Groups["quoted"].Value : w.Groups["bare"].Value, env))];
    }

    private sealed record BuildStage(string Name, IReadOnlyList<(string Keyword, string Arguments)> Instructions);

    private List<BuildStage> Stages()
    {
        var stages = new List<BuildStage>();
        foreach (var (instruction, index) in Instructions.Select((i, index) => (i, index)).Where(x => x.i.Keyword == "FROM"))
        {
            var name = Regex.Match(instruction.Arguments, @" AS (\S+)$", RegexOptions.IgnoreCase) is { Success: true } m ? m.Groups[1].Value : $"{stages.Count}";
            var instructions = Instructions.Skip(index).TakeWhile((i, n) => n == 0 || i.Keyword != "FROM").ToList();
            stages.Add(new BuildStage(name, instructions));
        }
        return stages;
    }

    private static IEnumerable<(string Name, string Value)> Settings(string arguments)
    {
        if (!arguments.Contains('=', StringComparison.Ordinal))
        {
            var parts = arguments.Split(' ', 2);
            yield return (parts[0], parts[1]);
            yield break;
        }
        foreach (Match m in Assignment().Matches(arguments))
        {
            yield return (m.Groups[1].Value, m.Groups[2].Value.Trim('"'));
        }
    }

    /// <summary>The values of <c>ARG</c> declarations: the build argument given, else the declaration's default, else the global one.</summary>
    private static Dictionary<string, string> Arguments(IEnumerable<(string Keyword, string Arguments)> instructions,
        IReadOnlyDictionary<string, string> given, IReadOnlyDictionary<string, string> global)
    {
        var values = new Dictionary<string, string>();
        foreach (var declaration in instructions.Where(i => i.Keyword == "ARG").SelectMany(i => i.Arguments.Split(' ')))
        {
            var parts = declaration.Split('=', 2);
            var name = parts[0];
            if (given.TryGetValue(name, out var value) || global.TryGetValue(name, out value))
            {
                values[name] = value;
            }
            if (parts.Length == 2 && !given.ContainsKey(name))
            {
                values[name] = parts[1];
            }
        }
        return values;
    }

    private static string Substitute(string text, IReadOnlyDictionary<string, string> variables) =>
        Variable().Replace(text, m => variables.TryGetValue(m.Groups["braced"].Success ? m.Groups["braced"].Value : m.Groups["bare"].Value, out var v) ? v : m.Value);

    [GeneratedRegex(@"\$(?:\{(?<braced>[A-Za-z_][A-Za-z0-9_]*)\}|(?<bare>[A-Za-z_][A-Za-z0-9_]*))")]
    private static partial Regex Variable();

    /// <summary>A stage named by <c>FROM &lt;stage&gt;</c> or <c>COPY --from=&lt;stage&gt;</c>.</summary>
    [GeneratedRegex(@"^(?:FROM (?<from>\S+)|COPY .*--from=(?<copy>\S+))")]
    private static partial Regex StageReference();

    [GeneratedRegex(@"""(?<quoted>[^""]*)""|(?<bare>\S+)")]
    private static partial Regex Word();

    [GeneratedRegex(@"\s+")]
    private static partial Regex Spaces();

    [GeneratedRegex(@"([A-Za-z_][A-Za-z0-9_]*)=(""[^""]*""|\S*)")]
    private static partial Regex Assignment();
}
