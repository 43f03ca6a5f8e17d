using Arena.Contracts;

namespace Arena.Chaos;

/// <summary>
/// With <c>appendfsync everysec</c> a Redis crash may take the writes of the last second (up
/// to two when an fsync runs late) with it. An event missing after the run is explained by a
/// crash only if its stream ID — the millisecond Redis stored it — lies in that window before
/// one of the kills.
/// </summary>
public sealed class LossWindow(IEnumerable<long> redisKillsUnixMs)
{
    public static readonly TimeSpan Width = TimeSpan.FromSeconds(2);

    private readonly long[] _kills = [.. redisKillsUnixMs.Order()];

    /// <summary>The kill that took the entry, or null when no kill explains its loss.</summary>
    public long? KillThatLost(StreamId id)
    {
        foreach (var kill in _kills)
        {
            if (id.Milliseconds <= kill)
            {
                return kill - id.Milliseconds <= Width.TotalMilliseconds ? kill : null;
            }
        }
        return null;
    }
}
