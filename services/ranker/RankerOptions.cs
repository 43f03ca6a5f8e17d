using System.ComponentModel.DataAnnotations;

namespace Arena.Ranker;

/// <summary>Bound from the <c>Ranker</c> section (<c>Ranker__*</c>), beside the consumer settings.</summary>
public sealed class RankerOptions
{
    public const string Section = "Ranker";
    public const string Group = "ranker";

    /// <summary>Quiet time after a new game before the leaderboard is refitted: a burst of games costs one fit.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00")]
    public TimeSpan RecomputeDebounce { get; set; } = TimeSpan.FromMilliseconds(500);

    [Range(1, 10_000)]
    public int BootstrapRounds { get; set; } = 100;

    [Range(0, long.MaxValue)]
    public long BootstrapSeed { get; set; } = 42;
}
