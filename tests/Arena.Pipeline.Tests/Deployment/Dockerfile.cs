using System.Text.RegularExpressions;

namespace Arena.Pipeline.Tests.Deployment;

/// <summary>A service's Dockerfile, as instructions (continuation lines joined, comments dropped).</summary>
internal sealed partial class Dockerfile
{
    private Dockerfile(IReadOnlyList<(string Keyword, string Arguments)> instructions) => Instructions = instructions;

    public IReadOnlyList<(string Keyword, string Arguments)> Instructions { get; }

    public static Dockerfile Of(string serviceDir)
    {
        var text = File.ReadAllText(Path.Combine(Repo.Root, serviceDir, "Dockerfile"));
        var logical = Regex.Replace(text, @"\\\r?\n", " ");
        return new Dockerfile([.. logical.Split('\n')
            .Select(line => line.Trim())
            .Where(line => line.Length > 0 && !line.StartsWith('#'))
            .Select(line => line.Split(' ', 2))
            .Select(parts => (parts[0].ToUpperInvariant(), parts.Length > 1 ? Spaces().Replace(parts[1].Trim(), " ") : ""))]);
    }

    public IEnumerable<string> All(string keyword) => Instructions.Where(i => i.Keyword == keyword).Select(i => i.Arguments);

    /// <summary>The instructions of the last stage (after the last FROM).</summary>
    public Dockerfile FinalStage()
    {
        var last = Instructions.Select((i, index) => (i, index)).Last(x => x.i.Keyword == "FROM").index;
        return new Dockerfile([.. Instructions.Skip(last)]);
    }

    /// <summary><c>ENV</c> settings, in either form (<c>A=1 B=2</c> or <c>A 1</c>).</summary>
    public Dictionary<string, string> Environment()
    {
        var env = new Dictionary<string, string>();
        foreach (var arguments in All("ENV"))
        {
            if (!arguments.Contains('=', StringComparison.Ordinal))
            {
                var parts = arguments.Split(' ', 2);
                env[parts[0]] = parts[1];
                continue;
            }
            foreach (Match m in Assignment().Matches(arguments))
            {
                env[m.Groups[1].Value] = m.Groups[2].Value.Trim('"');
            }
        }
        return env;
    }

    [GeneratedRegex(@"\s+")]
    private static partial Regex Spaces();

    [GeneratedRegex(@"([A-Za-z_][A-Za-z0-9_]*)=(""[^""]*""|\S*)")]
    private static partial Regex Assignment();
}
