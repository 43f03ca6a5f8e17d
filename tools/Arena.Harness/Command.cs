using System.Diagnostics;
using System.Globalization;

namespace Arena.Harness;

/// <summary>Runs a program to completion and returns its exit code and output.</summary>
public static class Command
{
    /// <param name="workingDirectory">The repository's root when null.</param>
    public static async Task<(int Exit, string Output)> RunAsync(string file, IEnumerable<string> args, string? workingDirectory = null,
        IDictionary<string, string>? environment = null, TimeSpan? timeout = null)
    {
        var start = new ProcessStartInfo(file)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = workingDirectory ?? Repo.Root,
        };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[key] = value;
        }
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{file} did not start");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cancel = new CancellationTokenSource(timeout ?? TimeSpan.FromMinutes(3));
        try
        {
            await process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', start.ArgumentList)} did not finish in time");
        }
        return (process.ExitCode, await stdout + await stderr);
    }

    /// <summary>Sends a signal to a process with <c>kill</c>: <c>TERM</c>, <c>STOP</c>, <c>CONT</c>, …</summary>
    public static async Task SignalAsync(int processId, string signal)
    {
        var (exit, text) = await RunAsync("kill", [$"-{signal}", processId.ToString(CultureInfo.InvariantCulture)], timeout: TimeSpan.FromSeconds(10));
        if (exit != 0)
        {
            throw new InvalidOperationException($"kill -{signal} {processId}: {text}");
        }
    }
}
