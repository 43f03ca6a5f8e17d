using System.Globalization;
using System.Text.Json;
using Arena.Contracts;
using Arena.Messaging;
using Arena.Ranker.Storage;

namespace Arena.Ranker;

/// <summary>
/// Keeps what the leaderboards need from the stream: game results, each run's game and seats
/// (player → model) from its game_start, LLM calls and actions. A game_end it cannot interpret — a newer schema version, fewer
/// than two results, ranks outside 1..players — is dead-lettered with the reason; the rest
/// of the batch is not held back. Every other type, its own leaderboard_updated included,
/// is acknowledged unread.
/// </summary>
public sealed class RankHandler(RankerStore store, LeaderboardService leaderboard) : IBatchHandler
{
    private static readonly HashSet<string> Interpreted = [EventTypes.GameStart, EventTypes.LlmResponse, EventTypes.Action, EventTypes.GameEnd];

    public ValueTask<IReadOnlyList<MessageOutcome>> HandleAsync(IReadOnlyList<StreamMessage> batch, CancellationToken cancellationToken)
    {
        var outcomes = new MessageOutcome[batch.Count];
        var placements = new List<PlacementRow>();
        var starts = new List<GameStartRow>();
        var players = new List<PlayerRow>();
        var calls = new List<LlmCallRow>();
        var actions = new List<ActionRow>();
        for (var i = 0; i < batch.Count; i++)
        {
            var type = batch[i][StreamFields.Type].ToString();
            if (!Interpreted.Contains(type))
            {
                outcomes[i] = MessageOutcome.Ack;
                continue;
            }
            var problem = Read(batch[i], placements, starts, players, calls, actions);
            outcomes[i] = problem is null ? MessageOutcome.Ack : MessageOutcome.DeadLetter(problem);
        }

        var stored = store.Write(placements, starts, players, calls, actions);
        if (stored.GameResults > 0)
        {
            leaderboard.GamesChanged();
        }
        else if (stored.Facts > 0)
        {
            leaderboard.StatsChanged();
        }
        return ValueTask.FromResult<IReadOnlyList<MessageOutcome>>(outcomes);
    }

    /// <summary>Adds the message's facts to the lists, or returns why it cannot be interpreted.</summary>
    private static string? Read(StreamMessage message, List<PlacementRow> placements, List<GameStartRow> starts, List<PlayerRow> players, List<LlmCallRow> calls, List<ActionRow> actions)
    {
        byte[]? json = message[StreamFields.Envelope];
        if (json is null)
        {
            return "the entry has no envelope";
        }
        if (EnvelopeHeader.TryRead(json, out var problem) is not { } header)
        {
            return $"the envelope cannot be read: {problem}";
        }
        if (header.SchemaVersion > EventTypes.CurrentSchemaVersion)
        {
            return $"{header.Type} has schema_version {header.SchemaVersion}; the ranker interprets up to {EventTypes.CurrentSchemaVersion}. Replay it from the DLQ after upgrading the ranker.";
        }

        try
        {
            using var document = JsonDocument.Parse(json);
            var payload = document.RootElement.GetProperty("payload");
            var (p, id) = (message.Partition, message.Id);
            switch (header.Type)
            {
                case EventTypes.GameEnd:
                    return ReadGameEnd(payload, p, id, header, placements);
                case EventTypes.GameStart:
                    if (payload.GetProperty("game").GetString() is not { Length: > 0 } game)
                    {
                        return "game_start has an empty game";
                    }
                    var seat = 0;
                    foreach (var player in payload.GetProperty("players").EnumerateArray())
                    {
                        players.Add(new PlayerRow(p, id, seat++, header.RunId, player.GetProperty("player_id").GetString()!, player.GetProperty("model").GetString()!));
                    }
                    // Only the boolean false makes a test run; absent, null or true is ranked.
                    var ranked = !(payload.TryGetProperty("ranked", out var flag) && flag.ValueKind == JsonValueKind.False);
                    starts.Add(new GameStartRow(p, id, header.RunId, game, ranked));
                    return null;
                case EventTypes.LlmResponse:
                    calls.Add(new LlmCallRow(p, id, header.RunId, payload.GetProperty("player_id").GetString()!, payload.GetProperty("model").GetString()!,
                        payload.GetProperty("latency_ms").GetDouble(),
                        payload.GetProperty("prompt_tokens").GetInt64() + payload.GetProperty("completion_tokens").GetInt64(),
                        payload.TryGetProperty("cost_usd", out var cost) && cost.ValueKind == JsonValueKind.Number ? cost.GetDouble() : null));
                    return null;
                case EventTypes.Action:
                    actions.Add(new ActionRow(p, id, header.RunId, payload.GetProperty("player_id").GetString()!, payload.GetProperty("valid").GetBoolean()));
                    return null;
                default:
                    throw new InvalidOperationException($"{header.Type} is not a type the ranker interprets");
            }
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            return $"{header.Type} cannot be interpreted: {e.Message}";
        }
    }

    private static string? ReadGameEnd(JsonElement payload, int partition, StreamId id, EnvelopeHeader header, List<PlacementRow> placements)
    {
        var results = payload.GetProperty("results");
        var count = results.GetArrayLength();
        if (count < EnvelopeRules.MinPlayers || count > EnvelopeRules.MaxPlayers)
        {
            return string.Create(CultureInfo.InvariantCulture,
                $"game_end has {count} results; a game needs {EnvelopeRules.MinPlayers} to {EnvelopeRules.MaxPlayers} players");
        }
        var rows = new List<PlacementRow>(count);
        foreach (var result in results.EnumerateArray())
        {
            var model = result.GetProperty("model").GetString();
            if (string.IsNullOrEmpty(model))
            {
                return "game_end has a result without a model";
            }
            if (!result.GetProperty("rank").TryGetInt32(out var rank) || rank < 1 || rank > count)
            {
                return string.Create(CultureInfo.InvariantCulture,
                    $"game_end has rank {result.GetProperty("rank").GetRawText()} for {model}; ranks run from 1 (best) to {count}");
            }
            rows.Add(new PlacementRow(partition, id, rows.Count, header.RunId, header.EventId, result.GetProperty("player_id").GetString()!, model, rank));
        }
        placements.AddRange(rows);
        return null;
    }
}
