using System.Collections.Concurrent;
using System.Diagnostics;

namespace Arena.Pipeline.Tests.Infrastructure;

/// <summary>
/// A client script run by the tests (Node.js under tests/browser, Python for clients/python):
/// its output lines as they come, lines written to its stdin, its exit.
/// </summary>
internal sealed class ScriptProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _lines = new();
    private readonly ConcurrentQueue<string> _errors = new();
    private readonly ConcurrentQueue<string> _all = new();

    private ScriptProcess(Process process) => _process = process;

    /// <summary>A script of tests/browser.</summary>
    public static ScriptProcess Node(ITestOutputHelper output, string script, params string[] args)
    {
        Assert.True(Directory.Exists(Path.Combine(Repo.Root, "tests", "browser", "node_modules")),
            "the npm packages of tests/browser are not installed: run 'make test' or scripts/ensure-browser.sh first");
        return Start(output, script, "node", [Path.Combine(Repo.Root, "tests", "browser", script), .. args], null);
    }

    /// <summary>A Python script, run from the repository's root.</summary>
    public static ScriptProcess Python(ITestOutputHelper output, IDictionary<string, string> environment, string script, params string[] args) =>
        Start(output, "python", "python3", [script, .. args], environment);

    private static ScriptProcess Start(ITestOutputHelper output, string label, string program, IEnumerable<string> args,
        IDictionary<string, string>? environment)
    {
        var start = new ProcessStartInfo(program)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Repo.Root,
        };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[key] = value;
        }
        var process = new Process { StartInfo = start };
        var script = new ScriptProcess(process);
        process.OutputDataReceived += (_, e) => script.Capture(script._lines, e.Data, output, label);
        process.ErrorDataReceived += (_, e) => script.Capture(script._errors, e.Data, output, label);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return script;
    }

    private void Capture(ConcurrentQueue<string> stream, string? line, ITestOutputHelper output, string label)
    {
        if (line is not null)
        {
            stream.Enqueue(line);
            _all.Enqueue(line);
            output.WriteLine($"[{label}] {line}");
        }
    }

    /// <summary>Every line printed to stdout so far.</summary>
    public IReadOnlyList<string> Lines => [.. _lines];

    public string Errors => string.Join('\n', _errors);

    /// <summary>Everything printed so far, stdout and stderr as they came.</summary>
    public string Text => string.Join('\n', _all);

    public bool HasExited => _process.HasExited;

    public void WriteLine(string line)
    {
        _process.StandardInput.WriteLine(line);
        _process.StandardInput.Flush();
    }

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"the script did not finish within {timeout.TotalSeconds:F0}s:\n{Text}");
        }
        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
    }
}
