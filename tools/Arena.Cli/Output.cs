using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Arena.Cli;

/// <summary>Tables for people, JSON for scripts, progress on stderr.</summary>
public sealed class Output(TextWriter stdout, TextWriter stderr, bool json)
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

    public async Task<int> UsageAsync(string problem)
    {
        await stderr.WriteLineAsync($"arena: {problem}\n\n{ArenaCli.Help}");
        return ArenaCli.Usage;
    }

    public async Task<int> FailAsync(string problem)
    {
        await stderr.WriteLineAsync($"arena: {problem}");
        return ArenaCli.Failed;
    }

    /// <summary>A progress bar on stderr for long operations (silent for a single item).</summary>
    public void Progress(int done, int total)
    {
        if (total <= 1)
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
