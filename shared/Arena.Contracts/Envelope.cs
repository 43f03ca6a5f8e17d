using System.Text.Json;
using System.Text.Json.Serialization;

namespace Arena.Contracts;

/// <summary>The event envelope as producers send it and consumers read it.</summary>
public sealed record Envelope
{
    /// <summary>Producer-unique id (the idempotency key); ingest assigns a UUIDv7 when absent.</summary>
    public string? EventId { get; init; }
    public required string RunId { get; init; }
    public required long Seq { get; init; }
    public required string Type { get; init; }
    public int SchemaVersion { get; init; } = EventTypes.CurrentSchemaVersion;
    public required DateTimeOffset Ts { get; init; }
    public required JsonElement Payload { get; init; }

    /// <summary>Set on envelopes read back from the stream or the history API.</summary>
    public string? StreamId { get; init; }

    public static Envelope Create<TPayload>(string runId, long seq, string type, DateTimeOffset ts, TPayload payload, string? eventId = null)
        where TPayload : notnull =>
        new()
        {
            EventId = eventId,
            RunId = runId,
            Seq = seq,
            Type = type,
            Ts = ts,
            Payload = JsonSerializer.SerializeToElement(payload, typeof(TPayload), ArenaJson.Default),
        };
}

public sealed record Player(string PlayerId, string Model, string? Civ = null, int? Team = null);

public sealed record GameStart(string Game, IReadOnlyList<Player> Players, string? Map = null);

public sealed record TurnStart(long Turn, string PlayerId);

public sealed record Observation(long Turn, string PlayerId, [property: JsonPropertyName("observation")] JsonElement Content);

public sealed record LlmResponse(
    long Turn,
    string PlayerId,
    string Model,
    long PromptTokens,
    long CompletionTokens,
    double LatencyMs,
    double? CostUsd = null,
    string? Text = null);

public sealed record ActionTaken(long Turn, string PlayerId, JsonElement Action, bool Valid, string? Error = null);

public sealed record GameResult(string PlayerId, string Model, int Rank);

public sealed record GameEnd(IReadOnlyList<GameResult> Results, string? Reason = null, double? DurationS = null);

public sealed record ErrorEvent(string Message, bool Fatal, string? PlayerId = null);

/// <summary>
/// Emitted by the pipeline when the stream's hard cap removed entries the persister had not
/// acknowledged: <c>lost</c> entries with IDs from <c>first_lost_id</c> to <c>last_lost_id</c>.
/// Entries it was committing at that very moment may still have been stored.
/// </summary>
public sealed record StreamOverflow(string Stream, int Partition, string Group, string FirstLostId, string LastLostId, long Lost);

/// <summary>Emitted by the ranker after each fit: how many games and models, and who leads.</summary>
public sealed record LeaderboardUpdated(int Games, int Models, string? Leader);

/// <summary>The run under which the pipeline records its own events.</summary>
public static class PipelineRun
{
    public const string Id = "arena-pipeline";
}

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(Envelope))]
[JsonSerializable(typeof(List<Envelope>))]
[JsonSerializable(typeof(GameStart))]
[JsonSerializable(typeof(TurnStart))]
[JsonSerializable(typeof(Observation))]
[JsonSerializable(typeof(LlmResponse))]
[JsonSerializable(typeof(ActionTaken))]
[JsonSerializable(typeof(GameEnd))]
[JsonSerializable(typeof(ErrorEvent))]
[JsonSerializable(typeof(StreamOverflow))]
[JsonSerializable(typeof(LeaderboardUpdated))]
public sealed partial class ArenaJson : JsonSerializerContext;
