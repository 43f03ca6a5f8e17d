namespace Arena.Ranker.Storage;

/// <summary>
/// Which leaderboard snapshots to keep as they age, so a leaderboard's history stays bounded:
/// every snapshot of the last hour; older than an hour, the newest of each 10-minute interval
/// (UTC, from the hour); older than a day, the newest of each UTC day; and never more than
/// <c>cap</c>, the newest. Intervals are fixed on the clock, so a snapshot kept as the newest
/// of its interval stays kept until it is a day old or the cap drops it.
/// </summary>
internal static class HistoryThinning
{
    public static readonly TimeSpan KeepAll = TimeSpan.FromHours(1);
    public static readonly TimeSpan KeepTenMinutes = TimeSpan.FromDays(1);
    private static readonly long TenMinutes = TimeSpan.FromMinutes(10).Ticks;
    private static readonly long Day = TimeSpan.FromDays(1).Ticks;

    /// <summary>The snapshots of <paramref name="times"/> (one leaderboard's) to discard at <paramref name="now"/>.</summary>
    public static List<DateTimeOffset> Discard(IEnumerable<DateTimeOffset> times, DateTimeOffset now, int cap)
    {
        var newestFirst = times.OrderDescending().ToList();
        var tenMinutes = new HashSet<long>();
        var days = new HashSet<long>();
        var kept = 0;
        var discard = new List<DateTimeOffset>();
        foreach (var at in newestFirst)
        {
            var newestOfTenMinutes = tenMinutes.Add(Math.DivRem(at.UtcTicks, TenMinutes).Quotient);
            var newestOfDay = days.Add(Math.DivRem(at.UtcTicks, Day).Quotient);
            var age = now - at;
            var keep = age <= KeepAll || (age <= KeepTenMinutes ? newestOfTenMinutes : newestOfDay);
            if (keep && kept < cap)
            {
                kept++;
            }
            else
            {
                discard.Add(at);
            }
        }
        return discard;
    }
}
