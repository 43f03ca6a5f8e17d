namespace Arena.Cli;

/// <summary>What the CLI needs of the terminal it runs in: whether someone can answer a question, and whether progress can be shown.</summary>
public interface ITerminal
{
    /// <summary>Standard input is a terminal: a question can be answered.</summary>
    bool IsInteractive { get; }

    /// <summary>Standard error is a terminal: progress lines may be drawn on it (never into redirected output).</summary>
    bool ShowsProgress { get; }

    /// <summary>The operator's answer, or null at the end of input.</summary>
    string? ReadLine();
}

/// <summary>The process's console.</summary>
public sealed class SystemTerminal : ITerminal
{
    public static readonly SystemTerminal Instance = new();

    private SystemTerminal()
    {
    }

    public bool IsInteractive => !Console.IsInputRedirected;

    public bool ShowsProgress => !Console.IsErrorRedirected;

    public string? ReadLine() => Console.ReadLine();
}
