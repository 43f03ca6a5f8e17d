using Arena.Contracts;
using StackExchange.Redis;

namespace Arena.Harness;

/// <summary>
/// One consumer group's state on a partition's stream: caught up when nothing is pending and it
/// has been handed the stream's last entry (an empty stream has nothing left to hand). XINFO's
/// <c>lag</c> is not used: after a Redis restart it stayed at thousands for groups that had read
/// everything.
/// </summary>
/// <param name="LastEntry">The ID of the last entry on the stream; empty when the stream holds none.</param>
public sealed record GroupState(string Name, long Pending, string LastDelivered, string LastEntry)
{
    public bool CaughtUp => Pending == 0 && (LastEntry.Length == 0 || LastDelivered == LastEntry);

    public override string ToString() => $"{Name}: {Pending} pending, last delivered {LastDelivered} of {LastEntry}";
}

/// <summary>The consumer groups of a partition's event stream.</summary>
public static class ConsumerGroups
{
    /// <summary>Every group of partition <paramref name="partition"/>'s stream.</summary>
    public static async Task<List<GroupState>> ReadAsync(IDatabase db, int partition = 0)
    {
        var stream = StreamKeys.Events(partition);
        var last = await db.StreamRangeAsync(stream, "-", "+", 1, Order.Descending);
        var lastEntry = last.Length == 0 ? "" : last[0].Id.ToString();
        return [.. (await db.StreamGroupInfoAsync(stream)).Select(g => new GroupState(g.Name, g.PendingMessageCount, g.LastDeliveredId ?? "", lastEntry))];
    }

    /// <summary>The group exists and has caught up (see <see cref="GroupState.CaughtUp"/>).</summary>
    public static async Task<bool> CaughtUpAsync(IDatabase db, string group = StreamKeys.PersisterGroup, int partition = 0) =>
        (await ReadAsync(db, partition)).SingleOrDefault(g => g.Name == group) is { CaughtUp: true };
}
