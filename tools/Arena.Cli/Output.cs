using System.CommandLine.Parsing;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Arena.Cli;

/// <summary>Tables for people, JSON for scripts, questions and progress on the terminal.</summary>
public sealed class Output(TextWriter stdout, TextWriter stderr, bool json, CommandResult command, ITerminal terminal)
{
    public bool Json => json;
    public TextWriter Error => stderr;

    public async Task TableAsync(string title, string[] headers, IEnumerable<string[]> rows)
    {
        var all = rows.ToList();
        var widths = headers.Select((h, i) => all.Select(r => r[i].Length).Append(h.Length).Max()).ToArray();
        var text = new StringBuilder();
        if (title.Length > 0)
        {
            text.AppendLine(title);
        }
        text.AppendLine(string.Join("  ", headers.Select((h, i) => h.PadRight(widths[i]))).TrimEnd());
        foreach (var row in all)
        {
            text.AppendLine(string.Join("  ", row.Select((c, i) => c.PadRight(widths[i]))).TrimEnd());
        }
        if (all.Count == 0)
        {
            text.AppendLine("(none)");
        }
        await stdout.WriteLineAsync(text.ToString());
    }

    public async Task JsonAsync(Action<Utf8JsonWriter> write)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            write(writer);
        }
        await stdout.WriteLineAsync(Encoding.UTF8.GetString(buffer.ToArray()));
    }

    public Task LineAsync(string text) => stdout.WriteLineAsync(text);

    public Task<int> UsageAsync(string problem) => ToolCommand.UsageAsync(command, problem, stderr);

    public async Task<int> FailAsync(string problem)
    {
        await stderr.WriteLineAsync($"arena: {problem}");
        return ArenaCli.Failed;
    }

    /// <summary>
    /// Asks a yes/no question on the terminal; only "y" or "yes" is a yes. Null when nobody can
    /// answer (no terminal), so the caller can say what to pass instead.
    /// </summary>
    public async Task<bool?> ConfirmAsync(string question)
    {
        if (!terminal.IsInteractive)
        {
            return null;
        }
        await stderr.WriteAsync($"{question} [y/N] ");
        await stderr.FlushAsync();
        return terminal.ReadLine()?.Trim().ToLowerInvariant() is "y" or "yes";
    }

    /// <summary>A progress bar on stderr for long operations, only when stderr is a terminal (silent for a single item).</summary>
    public void Progress(int done, int total)
    {
        if (total <= 1 || !terminal.ShowsProgress)
        {
            return;
        }
        const int Width = 30;
        var filled = (int)((double)done / total * Width);
        stderr.Write($"\r[{new string('#', filled)}{new string('.', Width - filled)}] {done}/{total}");
        if (done == total)
        {
            stderr.WriteLine();
        }
    }
}
