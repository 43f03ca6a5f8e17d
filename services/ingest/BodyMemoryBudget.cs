using Microsoft.Extensions.Options;

namespace Arena.Ingest;

/// <summary>
/// The memory all request bodies held at once may take (<see cref="IngestOptions.MaxBufferedBodyBytes"/>).
/// Bodies draw on it as their bytes arrive and give it back when their request is answered, so
/// what a slow client costs is what it has sent, and ingest's memory stays bounded however many
/// bodies are in flight.
/// </summary>
public sealed class BodyMemoryBudget(IOptions<IngestOptions> options)
{
    private long _taken;

    /// <summary>Bytes held by bodies now.</summary>
    public long Taken => Interlocked.Read(ref _taken);

    /// <summary>Takes <paramref name="bytes"/> if they fit; false, and nothing taken, if they do not.</summary>
    public bool TryTake(int bytes)
    {
        // Read at use, not construction: the metrics that watch this are created before settings are validated.
        if (Interlocked.Add(ref _taken, bytes) <= options.Value.MaxBufferedBodyBytes)
        {
            return true;
        }
        Interlocked.Add(ref _taken, -bytes);
        return false;
    }

    public void Give(int bytes) => Interlocked.Add(ref _taken, -bytes);
}
