using System.Text.Json;
using Arena.Harness;

namespace Arena.Chaos;

/// <summary>
/// Everything the checks compare: what the producers know, and what the pipeline holds after the
/// drain. A soak has no <see cref="Recomputed"/> leaderboard and has its <see cref="Soak"/> evidence.
/// </summary>
public sealed record Evidence(
    ChaosOptions Options,
    Ledger Ledger,
    FaultInjector Faults,
    long PoisonGameEnds,
    StoredRows Stored,
    IReadOnlyList<DeadLetter> DeadLetters,
    long DeadLettersDropped,
    IReadOnlyList<string> StreamEventIds,
    IReadOnlyList<GroupState> Groups,
    JsonElement Leaderboard,
    JsonElement? Recomputed,
    IReadOnlyList<SseWatcher> Watchers,
    IReadOnlyList<string> UnplannedExits,
    IReadOnlyDictionary<string, int> FinalExits,
    SoakEvidence? Soak)
{
    public LossWindow LossWindow { get; } = new(Faults.RedisKills);
}
