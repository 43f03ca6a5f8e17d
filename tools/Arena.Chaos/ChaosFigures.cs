namespace Arena.Chaos;

/// <summary>The figures of a run, as printed and written to results.json.</summary>
public sealed record ChaosFigures
{
    public required int Seed { get; init; }
    public required string AppendFsync { get; init; }
    public required string Machine { get; init; }
    public required double DurationSeconds { get; init; }
    public required long EventsAccepted { get; init; }
    public required long GamesFinished { get; init; }
    public required long Requests { get; init; }
    public required long RequestRetries { get; init; }
    public required long DuplicateRequests { get; init; }
    public required long DuplicateEvents { get; init; }
    public required long RejectedRequests { get; init; }
    public required long RejectedEvents { get; init; }
    public required long PoisonRaw { get; init; }
    public required long PoisonGameEnds { get; init; }
    /// <summary>Poison entries over every event offered (accepted plus raw poison), in percent.</summary>
    public required double PoisonPercent { get; init; }
    public required IReadOnlyDictionary<string, int> Kills { get; init; }
    public required int ConsumerKills { get; init; }
    public required IReadOnlyDictionary<string, int> Sigterms { get; init; }
    public required int RedisRestarts { get; init; }
    public required long Lost { get; init; }
    /// <summary>Accepted events lost with each Redis kill -9, in kill order.</summary>
    public required IReadOnlyList<int> LostPerRedisKill { get; init; }
    public required long Duplicated { get; init; }
    public required int SseClients { get; init; }
    public required long SseEventsReceived { get; init; }
    public required int SseDrops { get; init; }
    /// <summary>SSE connections that broke (gateway killed, stream ended), by cause.</summary>
    public required IReadOnlyDictionary<string, int> SseBreaks { get; init; }
    /// <summary>Flat-out ingest, accepted events/s, by fsync mode (empty when the probe was skipped).</summary>
    public required IReadOnlyDictionary<string, double> IngestThroughput { get; init; }
    public required string Replay { get; init; }
    /// <summary>A soak's figures; null for a chaos run.</summary>
    public required SoakFigures? Soak { get; init; }
}

/// <summary>How often a kind of hostile request got one answer.</summary>
public sealed record HostileAnswer(string Kind, string Answer, long Count);

/// <summary>The figures a soak adds: its hostile clients' answers, the services' 5xx, and the memory series.</summary>
public sealed record SoakFigures
{
    public required double Minutes { get; init; }
    public required IReadOnlyList<HostileAnswer> Answers { get; init; }
    public required int SseFloodMostHeld { get; init; }
    public required int SseConnectionsPerClient { get; init; }
    public required IReadOnlyList<ServerError> ServerErrors { get; init; }
    public required IReadOnlyList<MemoryTrend> Memory { get; init; }
    public required IReadOnlyList<MemorySample> MemorySamples { get; init; }
}
