using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;
using System.CommandLine.Parsing;
using System.Globalization;
using System.Reflection;

namespace Arena.Cli;

/// <summary>
/// The command-line conventions every arena tool shares (this file is compiled into each of them):
/// <c>--help</c> on every command, <c>--version</c>, and exit codes 0 done, 1 failed, 2 usage error,
/// where a usage error is one line naming the problem on stderr and a pointer to <c>--help</c>.
/// </summary>
internal static class ToolCommand
{
    public const int Ok = 0;
    public const int Failed = 1;
    public const int Usage = 2;

    /// <summary>A tool's root command, with <c>--help</c> and a <c>--version</c> that prints <paramref name="assembly"/>'s informational version.</summary>
    public static Command Root(string name, string description, Assembly assembly)
    {
        var root = new Command(name, description);
        root.Options.Add(new HelpOption());
        root.Options.Add(new VersionOption { Action = new PrintVersion(assembly) });
        return root;
    }

    /// <summary>Parses <paramref name="args"/> and runs the chosen command's action, or reports the first problem as a usage error.</summary>
    public static async Task<int> InvokeAsync(Command root, string[] args, TextWriter stdout, TextWriter stderr)
    {
        RequireSubcommands(root);
        var result = root.Parse(args);
        if (result.Errors is [var first, ..])
        {
            return await UsageAsync(result.CommandResult, first.Message, stderr);
        }
        // The parser hands an unknown --option to a command's argument when it takes one (arena-bench's out-dir).
        if (result.CommandResult.Children.OfType<ArgumentResult>().SelectMany(a => a.Tokens)
            .FirstOrDefault(t => t.Value.Length > 1 && t.Value.StartsWith('-')) is { } stray)
        {
            return await UsageAsync(result.CommandResult, $"Unrecognized command or argument '{stray.Value}'.", stderr);
        }
        // No signal handling of its own: the tools that stop on Ctrl-C or SIGTERM handle it and still print their results.
        return await result.InvokeAsync(new InvocationConfiguration { Output = stdout, Error = stderr, ProcessTerminationTimeout = null });
    }

    /// <summary>Writes "<c>tool: problem</c>" and where to find the command's options; returns <see cref="Usage"/>.</summary>
    public static async Task<int> UsageAsync(CommandResult command, string problem, TextWriter stderr)
    {
        await stderr.WriteLineAsync($"{Path(command).Split(' ')[0]}: {problem}");
        await stderr.WriteLineAsync($"Run '{Path(command)} --help' for usage.");
        return Usage;
    }

    /// <summary>An integer option of at least <paramref name="minimum"/>; anything else is a usage error that names the option.</summary>
    public static Option<int> Int(string name, string description, int fallback, int minimum = 0, int maximum = int.MaxValue) => new(name)
    {
        Description = description,
        HelpName = "N",
        DefaultValueFactory = _ => fallback,
        CustomParser = result => ParseInt(result, name, minimum, maximum) ?? 0,
    };

    /// <summary>Like <see cref="Int"/>, without a default: null when not given.</summary>
    public static Option<int?> OptionalInt(string name, string description, int minimum = 0, int maximum = int.MaxValue) => new(name)
    {
        Description = description,
        HelpName = "N",
        CustomParser = result => ParseInt(result, name, minimum, maximum),
    };

    /// <summary>A finite number option within [<paramref name="minimum"/>, <paramref name="maximum"/>], above 0 when <paramref name="positive"/>.</summary>
    public static Option<double> Number(string name, string description, double fallback, double minimum, double maximum = double.MaxValue,
        bool positive = false) => new(name)
    {
        Description = description,
        HelpName = "N",
        DefaultValueFactory = _ => fallback,
        CustomParser = result =>
        {
            var text = result.Tokens.Single().Value;
            if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && double.IsFinite(value)
                && value >= minimum && value <= maximum && (!positive || value > 0))
            {
                return value;
            }
            result.AddError($"{name} must be {(positive ? "a positive number" : Range(minimum, maximum, "a number"))} (got '{text}')");
            return 0;
        },
    };

    /// <summary>An absolute http(s) URL option; null when not given and there is no <paramref name="fallback"/>.</summary>
    public static Option<Uri?> HttpUrl(string name, string description, Uri? fallback = null)
    {
        var option = new Option<Uri?>(name)
        {
            HelpName = "URL",
            Description = description,
            CustomParser = result =>
            {
                var text = result.Tokens.Single().Value;
                if (Uri.TryCreate(text, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps))
                {
                    return uri;
                }
                result.AddError($"{name} must be an absolute http(s) URL (got '{text}')");
                return null;
            },
        };
        if (fallback is not null)
        {
            option.DefaultValueFactory = _ => fallback;
        }
        return option;
    }

    private static int? ParseInt(ArgumentResult result, string name, int minimum, int maximum)
    {
        var text = result.Tokens.Single().Value;
        if (int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value) && value >= minimum && value <= maximum)
        {
            return value;
        }
        var kind = minimum == 1 && maximum == int.MaxValue ? "a positive integer"
            : minimum == 0 && maximum == int.MaxValue ? "a non-negative integer"
            : Range(minimum, maximum, "an integer");
        result.AddError($"{name} must be {kind} (got '{text}')");
        return null;
    }

    private static string Range(double minimum, double maximum, string kind) => maximum is double.MaxValue or int.MaxValue
        ? string.Create(CultureInfo.InvariantCulture, $"{kind} of at least {minimum}")
        : string.Create(CultureInfo.InvariantCulture, $"{kind} from {minimum} to {maximum}");

    /// <summary>"arena dlq replay": the command's path from the root.</summary>
    private static string Path(CommandResult command) =>
        command.Parent is CommandResult parent ? $"{Path(parent)} {command.Command.Name}" : command.Command.Name;

    /// <summary>A command that only groups others (<c>arena dlq</c>) says which ones there are when none is given.</summary>
    private static void RequireSubcommands(Command command)
    {
        foreach (var sub in command.Subcommands)
        {
            RequireSubcommands(sub);
        }
        if (command.Action is null && command.Subcommands.Count > 0)
        {
            command.SetAction(parse => UsageAsync(parse.CommandResult,
                $"choose a command: {string.Join(", ", command.Subcommands.Select(s => s.Name))}", parse.InvocationConfiguration.Error));
        }
    }

    private sealed class PrintVersion(Assembly assembly) : SynchronousCommandLineAction
    {
        public override int Invoke(ParseResult parseResult)
        {
            var version = assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
                ?? assembly.GetName().Version?.ToString() ?? "unknown";
            parseResult.InvocationConfiguration.Output.WriteLine(version);
            return Ok;
        }
    }
}
