using System.ComponentModel.DataAnnotations;

namespace Arena.Persister;

/// <summary>Bound from the <c>Persister</c> section (<c>Persister__*</c>).</summary>
public sealed class PersisterOptions
{
    public const string Section = "Persister";
    public const string Group = "persister";

    /// <summary>Entries read (and committed in one transaction) at a time.</summary>
    [Range(1, 10_000)]
    public int BatchSize { get; set; } = 1000;

    /// <summary>How long an idle reader waits for a wake-up before it polls anyway.</summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "00:00:10")]
    public TimeSpan IdlePoll { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>
    /// This instance's consumer name in the group. Stable across restarts, so a restarted
    /// persister finds the entries it read but had not acknowledged.
    /// </summary>
    [Required, RegularExpression("^[A-Za-z0-9._:-]{1,64}$")]
    public string ConsumerName { get; set; } = $"persister-{Environment.MachineName}";

    /// <summary>
    /// Testing aid for crash safety: after this many commits the process kills itself
    /// (SIGKILL) before acknowledging the batch. 0, the default, turns it off.
    /// </summary>
    [Range(0, int.MaxValue)]
    public int KillAfterCommits { get; set; }
}
