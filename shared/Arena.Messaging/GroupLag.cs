using Arena.Contracts;
using StackExchange.Redis;

namespace Arena.Messaging;

/// <summary>
/// A group's lag: entries on the stream not yet delivered to the group. Redis's own figure
/// (XINFO GROUPS <c>lag</c>) is missing after a restart while the group has not caught up, and a
/// missing figure read as "the whole stream" shows lag that is not there; so it is taken from the
/// stream's last issued ID first — a group delivered up to it has no lag — then from Redis when
/// Redis knows it, and otherwise counted, up to <see cref="CountLimit"/> entries.
/// </summary>
public static class GroupLag
{
    /// <summary>Beyond this many entries an unknown lag is reported as the stream's length (an upper bound), not counted.</summary>
    public const int CountLimit = 10_000;

    public static async Task<long> ReadAsync(IDatabaseAsync db, string stream, StreamGroupInfo group, long length, StreamId lastIssued)
    {
        if (!StreamId.TryParse(group.LastDeliveredId, out var delivered))
        {
            return group.Lag ?? length;
        }
        if (delivered >= lastIssued)
        {
            return 0;
        }
        if (group.Lag is { } lag)
        {
            return Math.Min(lag, length);
        }
        var ahead = await db.StreamRangeAsync(stream, "(" + delivered, "+", CountLimit);
        return ahead.Length < CountLimit ? ahead.Length : length;
    }
}
