using System.Globalization;
using System.Text.Json;

namespace Arena.Contracts.Validation;

/// <summary>The v1 payload of each known type. Unknown types pass unchecked.</summary>
internal static class PayloadRules
{
    public static void Validate(string type, FieldReader p)
    {
        switch (type)
        {
            case EventTypes.GameStart:
                p.CheckString("game", required: true, EnvelopeRules.MaxTextLength);
                p.CheckString("map", required: false, EnvelopeRules.MaxTextLength);
                p.Boolean("ranked", required: false);
                EachEntry(p, "players", (player, _) =>
                {
                    PlayerId(player, required: true);
                    player.CheckString("model", required: true, EnvelopeRules.MaxTextLength);
                    player.CheckString("civ", required: false, EnvelopeRules.MaxTextLength);
                    player.Integer("team", required: false, minimum: 0);
                });
                break;
            case EventTypes.TurnStart:
                Turn(p);
                PlayerId(p, required: true);
                break;
            case EventTypes.Observation:
                Turn(p);
                PlayerId(p, required: true);
                p.Present("observation");
                break;
            case EventTypes.LlmResponse:
                Turn(p);
                PlayerId(p, required: true);
                p.CheckString("model", required: true, EnvelopeRules.MaxTextLength);
                p.Integer("prompt_tokens", required: true, minimum: 0);
                p.Integer("completion_tokens", required: true, minimum: 0);
                p.Number("latency_ms", required: true, minimum: 0);
                p.Number("cost_usd", required: false, minimum: 0);
                p.CheckString("text", required: false);
                break;
            case EventTypes.Action:
                Turn(p);
                PlayerId(p, required: true);
                p.Present("action");
                p.Boolean("valid");
                p.CheckString("error", required: false);
                break;
            case EventTypes.GameEnd:
                EachEntry(p, "results", (result, players) =>
                {
                    PlayerId(result, required: true);
                    result.CheckString("model", required: true, EnvelopeRules.MaxTextLength);
                    // The ranker places every result among the players: a rank beyond them cannot be rated.
                    if (result.Integer("rank", required: true, minimum: 1) is { } rank && rank > players)
                    {
                        result.Fail(result.Of("rank"), string.Create(CultureInfo.InvariantCulture,
                            $"must be at most {players}, the number of results (got {rank}); rank 1 is best, equal ranks are ties"));
                    }
                });
                p.CheckString("reason", required: false, EnvelopeRules.MaxTextLength);
                p.Number("duration_s", required: false, minimum: 0);
                break;
            case EventTypes.Error:
                PlayerId(p, required: false);
                p.CheckString("message", required: true);
                p.Boolean("fatal");
                break;
            default:
                break;
        }
    }

    private static void Turn(FieldReader p) => p.Integer("turn", required: true, minimum: 0);

    private static void PlayerId(FieldReader p, bool required) =>
        p.CheckString("player_id", required, EnvelopeRules.MaxIdLength);

    /// <summary>Applies <paramref name="rules"/> to each object of the array, with the array's length.</summary>
    private static void EachEntry(FieldReader p, string name, Action<FieldReader, int> rules)
    {
        if (p.Array(name, EnvelopeRules.MinPlayers, EnvelopeRules.MaxPlayers) is not { } array)
        {
            return;
        }
        var count = array.GetArrayLength();
        var i = 0;
        foreach (var entry in array.EnumerateArray())
        {
            var path = string.Create(CultureInfo.InvariantCulture, $"{p.Of(name)}[{i++}]");
            if (entry.ValueKind != JsonValueKind.Object)
            {
                p.Fail(path, $"must be an object, not {FieldReader.Describe(entry)}");
                continue;
            }
            rules(p.Nested(entry, path), count);
        }
    }
}
