namespace Arena.Contracts;

/// <summary>The event types of schema version 1, and the ones the pipeline emits itself.</summary>
public static class EventTypes
{
    public const string GameStart = "game_start";
    public const string TurnStart = "turn_start";
    public const string Observation = "observation";
    public const string LlmResponse = "llm_response";
    public const string Action = "action";
    public const string GameEnd = "game_end";
    public const string Error = "error";

    public const string StreamOverflow = "stream_overflow";
    public const string LeaderboardUpdated = "leaderboard_updated";

    /// <summary>Every type this build names: producers' v1 types, then the pipeline's own.</summary>
    public static readonly IReadOnlyList<string> Known = [Observation, LlmResponse, Action, TurnStart, GameStart, GameEnd, Error, StreamOverflow, LeaderboardUpdated];

    /// <summary>Types only the pipeline writes: a producer's event of such a type would pass for the pipeline's own.</summary>
    public static readonly IReadOnlyList<string> EmittedByPipeline = [StreamOverflow, LeaderboardUpdated];

    /// <summary>The newest envelope schema version this build interprets.</summary>
    public const int CurrentSchemaVersion = 1;
}
