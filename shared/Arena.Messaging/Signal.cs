namespace Arena.Messaging;

/// <summary>
/// A wake-up flag a loop can wait on: setting it twice before the wait still wakes once.
/// </summary>
public sealed class Signal : IDisposable
{
    private readonly SemaphoreSlim _flag = new(0, 1);

    public void Set()
    {
        try
        {
            if (_flag.CurrentCount == 0)
            {
                _flag.Release();
            }
        }
        catch (SemaphoreFullException)
        {
            // Set concurrently; once is enough.
        }
    }

    /// <summary>Waits until set (and clears it) or until <paramref name="timeout"/>; true when it was set.</summary>
    public Task<bool> WaitAsync(TimeSpan timeout, CancellationToken cancellationToken) => _flag.WaitAsync(timeout, cancellationToken);

    public void Reset() => _flag.Wait(0);

    public void Dispose() => _flag.Dispose();
}
