namespace Arena.Chaos;

/// <summary>
/// What a soak adds to the evidence: the memory series, the hostile clients' answers, and what
/// the services counted themselves — their 5xx answers, and the SSE requests the gateway refused
/// over its per-client limit.
/// </summary>
public sealed record SoakEvidence(
    IReadOnlyList<MemorySample> Memory,
    HostileClients Hostile,
    int ConnectionsPerClient,
    IReadOnlyList<ServerError> ServerErrors,
    long RefusedPerClient)
{
    public IReadOnlyList<MemoryTrend> Trends { get; } = MemoryTrend.Of(Memory);
}
