using System.ComponentModel.DataAnnotations;

namespace Arena.Persister;

/// <summary>
/// Bound from the <c>Persister</c> section (<c>Persister__*</c>), beside the consumer
/// settings (<c>Persister__BatchSize</c>, <c>Persister__ClaimMinIdle</c>, …).
/// </summary>
public sealed class PersisterOptions
{
    public const string Section = "Persister";

    /// <summary>
    /// Testing aid for crash safety: after this many commits the process kills itself
    /// (SIGKILL) before acknowledging the batch. 0, the default, turns it off.
    /// </summary>
    [Range(0, int.MaxValue)]
    public int KillAfterCommits { get; set; }
}
