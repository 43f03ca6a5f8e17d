using System.Collections.Concurrent;
using System.Diagnostics;

namespace Arena.Pipeline.Tests.Infrastructure;

/// <summary>A script of tests/browser run with Node.js: its output lines as they come, its exit.</summary>
internal sealed class NodeScript : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _lines = new();
    private readonly ConcurrentQueue<string> _errors = new();

    private NodeScript(Process process) => _process = process;

    public static NodeScript Start(ITestOutputHelper output, string script, params string[] args)
    {
        Assert.True(Directory.Exists(Path.Combine(Repo.Root, "tests", "browser", "node_modules")),
            "the npm packages of tests/browser are not installed: run 'make test' or scripts/ensure-browser.sh first");
        var start = new ProcessStartInfo("node") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Path.Combine(Repo.Root, "tests", "browser", script));
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }
        var process = new Process { StartInfo = start };
        var node = new NodeScript(process);
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is { } line)
            {
                node._lines.Enqueue(line);
                output.WriteLine($"[{script}] {line}");
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is { } line)
            {
                node._errors.Enqueue(line);
            }
        };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return node;
    }

    /// <summary>Every line printed so far.</summary>
    public IReadOnlyList<string> Lines => [.. _lines];

    public string Errors => string.Join('\n', _errors);

    public bool HasExited => _process.HasExited;

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cancel.Token);
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
