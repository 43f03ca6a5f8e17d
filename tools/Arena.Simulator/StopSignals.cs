using System.Runtime.InteropServices;

namespace Arena.Simulator;

/// <summary>
/// Ctrl-C and SIGTERM cancel <see cref="Token"/> instead of ending the process, so a tool
/// stops its work and still prints what it did.
/// </summary>
public sealed class StopSignals : IDisposable
{
    private readonly CancellationTokenSource _cancel = new();
    private readonly PosixSignalRegistration _sigterm;

    public StopSignals()
    {
        Console.CancelKeyPress += OnCancelKeyPress;
        _sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
        {
            context.Cancel = true;
            _cancel.Cancel();
        });
    }

    public CancellationToken Token => _cancel.Token;

    /// <summary>Cancels <see cref="Token"/> as a signal would: the work is done.</summary>
    public void Stop() => _cancel.Cancel();

    private void OnCancelKeyPress(object? sender, ConsoleCancelEventArgs e)
    {
        e.Cancel = true;
        _cancel.Cancel();
    }

    public void Dispose()
    {
        Console.CancelKeyPress -= OnCancelKeyPress;
        _sigterm.Dispose();
        _cancel.Dispose();
    }
}
