using Arena.Ranker.Storage;

namespace Arena.Ranker.Tests;

/// <summary>How a leaderboard's history thins with age, on synthetic times.</summary>
public sealed class HistoryThinningTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 2, 8, 0, 0, TimeSpan.Zero);
    private static readonly long TenMinutes = TimeSpan.FromMinutes(10).Ticks;

    private static List<DateTimeOffset> Kept(IEnumerable<DateTimeOffset> times, DateTimeOffset now, int cap = 5000)
    {
        var all = times.ToList();
        var discard = HistoryThinning.Discard(all, now, cap).ToHashSet();
        return [.. all.Where(t => !discard.Contains(t)).Order()];
    }

    /// <summary>A snapshot every <paramref name="step"/> for <paramref name="span"/> up to <see cref="Now"/>.</summary>
    private static List<DateTimeOffset> Every(TimeSpan step, TimeSpan span) =>
        [.. Enumerable.Range(0, (int)(span / step)).Select(i => Now - i * step)];

    [Fact]
    public void Every_snapshot_of_the_last_hour_is_kept()
    {
        var times = Every(TimeSpan.FromSeconds(1), TimeSpan.FromHours(1));

        Assert.Equal(times.Order(), Kept(times, Now));
    }

    [Fact]
    public void Between_an_hour_and_a_day_one_snapshot_per_ten_minutes_is_kept_the_newest_of_each()
    {
        var times = Every(TimeSpan.FromMinutes(1), TimeSpan.FromDays(1));

        var older = Kept(times, Now).Where(t => Now - t > TimeSpan.FromHours(1)).ToList();

        Assert.Equal(23 * 6, older.Count);
        Assert.All(older, t => Assert.Equal(9, t.Minute % 10));
    }

    [Fact]
    public void Older_than_a_day_one_snapshot_per_utc_day_is_kept_the_last_of_the_day()
    {
        var times = Every(TimeSpan.FromMinutes(30), TimeSpan.FromDays(30));

        var older = Kept(times, Now).Where(t => Now - t > TimeSpan.FromDays(1)).ToList();

        Assert.Equal(older.Count, older.Select(t => t.UtcDateTime.Date).Distinct().Count());
        Assert.All(older, t => Assert.Equal(new TimeSpan(23, 30, 0), t.UtcDateTime.TimeOfDay));
        Assert.Equal(29, older.Count);
    }

    [Fact]
    public void A_snapshot_kept_as_the_newest_of_its_interval_stays_kept_as_time_passes()
    {
        var times = Every(TimeSpan.FromSeconds(20), TimeSpan.FromHours(3));
        var kept = Kept(times, Now);

        foreach (var later in new[] { TimeSpan.FromMinutes(30), TimeSpan.FromHours(2), TimeSpan.FromHours(20) })
        {
            var then = Kept(kept, Now + later);
            Assert.Equal(then, Kept(times, Now + later));
            Assert.All(kept.Where(t => Now + later - t > TimeSpan.FromHours(1) && Now + later - t <= TimeSpan.FromDays(1)),
                t => Assert.Equal(t == times.Where(o => o.UtcTicks / TenMinutes == t.UtcTicks / TenMinutes).Max(), then.Contains(t)));
        }
    }

    [Fact]
    public void The_cap_keeps_the_newest()
    {
        var times = Every(TimeSpan.FromMilliseconds(100), TimeSpan.FromMinutes(10));

        var kept = Kept(times, Now, cap: 100);

        Assert.Equal(times.Order().TakeLast(100), kept);
    }

    [Fact]
    public void A_month_of_fits_every_seven_seconds_stays_bounded()
    {
        // One at a time, as the store thins after each snapshot.
        var kept = new List<DateTimeOffset>();
        var start = Now - TimeSpan.FromDays(30);
        for (var at = start; at <= Now; at += TimeSpan.FromSeconds(7))
        {
            kept.Add(at);
            if (kept.Count % 500 == 0 || at + TimeSpan.FromSeconds(7) > Now)
            {
                kept = Kept(kept, at);
            }
        }

        // The last hour's ~515, at most 139 ten-minute intervals, at most 30 days.
        Assert.InRange(kept.Count, 3600 / 7, 3600 / 7 + 1 + 139 + 30);
    }
}
