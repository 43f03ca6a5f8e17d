using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Arena.Contracts.Validation;

/// <summary>What one payload field must hold.</summary>
internal enum Check
{
    /// <summary>A string of at most <see cref="FieldRule.MaxLength"/> code points, not empty when required.</summary>
    Text,

    /// <summary>An integer of at least <see cref="FieldRule.Minimum"/>.</summary>
    Integer,

    /// <summary>A number of at least <see cref="FieldRule.Minimum"/>.</summary>
    Number,

    Boolean,

    /// <summary>Any value but null (always required).</summary>
    Present,

    /// <summary>An array of 2 to 8 objects, one per player, each following <see cref="FieldRule.Entry"/>.</summary>
    Seats,

    /// <summary>An integer from 1 to the number of seats of the array it is in.</summary>
    Rank,
}

/// <summary>One field of a v1 payload (or of a seat in one) and its rule.</summary>
internal sealed class FieldRule(string name, Check check, bool required, long minimum = 0, int maxLength = int.MaxValue, FieldRule[]? entry = null)
{
    public string Name { get; } = name;
    public byte[] Utf8Name { get; } = Encoding.UTF8.GetBytes(name);
    public Check Check { get; } = check;
    public bool Required { get; } = required;
    public long Minimum { get; } = minimum;
    public int MaxLength { get; } = maxLength;
    public FieldRule[] Entry { get; } = entry ?? [];
}

/// <summary>
/// The v1 payload of each known type, as rules that both validators read: <see cref="EnvelopeValidator"/>
/// (which reports each broken rule) and <see cref="Utf8EnvelopeValidator"/>. Unknown types pass unchecked.
/// </summary>
internal static class PayloadRules
{
    private static readonly FieldRule Turn = new("turn", Check.Integer, required: true);
    private static readonly FieldRule PlayerId = new("player_id", Check.Text, required: true, maxLength: EnvelopeRules.MaxIdLength);
    private static readonly FieldRule Model = new("model", Check.Text, required: true, maxLength: EnvelopeRules.MaxTextLength);

    private static readonly FieldRule[] GameStart =
    [
        new("game", Check.Text, required: true, maxLength: EnvelopeRules.MaxTextLength),
        new("map", Check.Text, required: false, maxLength: EnvelopeRules.MaxTextLength),
        new("ranked", Check.Boolean, required: false),
        new("players", Check.Seats, required: true, entry:
        [
            PlayerId,
            Model,
            new("civ", Check.Text, required: false, maxLength: EnvelopeRules.MaxTextLength),
            new("team", Check.Integer, required: false),
        ]),
    ];

    private static readonly FieldRule[] TurnStart = [Turn, PlayerId];

    private static readonly FieldRule[] Observation = [Turn, PlayerId, new("observation", Check.Present, required: true)];

    private static readonly FieldRule[] LlmResponse =
    [
        Turn,
        PlayerId,
        Model,
        new("prompt_tokens", Check.Integer, required: true),
        new("completion_tokens", Check.Integer, required: true),
        new("latency_ms", Check.Number, required: true),
        new("cost_usd", Check.Number, required: false),
        new("text", Check.Text, required: false),
    ];

    private static readonly FieldRule[] Action =
    [
        Turn,
        PlayerId,
        new("action", Check.Present, required: true),
        new("valid", Check.Boolean, required: true),
        new("error", Check.Text, required: false),
    ];

    private static readonly FieldRule[] GameEnd =
    [
        new("results", Check.Seats, required: true, entry:
        [
            PlayerId,
            Model,
            // The ranker places every result among the players: a rank beyond them cannot be rated.
            new("rank", Check.Rank, required: true, minimum: 1),
        ]),
        new("reason", Check.Text, required: false, maxLength: EnvelopeRules.MaxTextLength),
        new("duration_s", Check.Number, required: false),
    ];

    private static readonly FieldRule[] Error =
    [
        new("player_id", Check.Text, required: false, maxLength: EnvelopeRules.MaxIdLength),
        new("message", Check.Text, required: true),
        new("fatal", Check.Boolean, required: true),
    ];

    /// <summary>The rules of a v1 type's payload; null for a type without rules.</summary>
    public static FieldRule[]? For(string type) => type switch
    {
        EventTypes.GameStart => GameStart,
        EventTypes.TurnStart => TurnStart,
        EventTypes.Observation => Observation,
        EventTypes.LlmResponse => LlmResponse,
        EventTypes.Action => Action,
        EventTypes.GameEnd => GameEnd,
        EventTypes.Error => Error,
        _ => null,
    };

    public static void Validate(string type, FieldReader p)
    {
        if (For(type) is { } rules)
        {
            Apply(rules, p, seats: 0);
        }
    }

    private static void Apply(FieldRule[] rules, FieldReader p, int seats)
    {
        foreach (var rule in rules)
        {
            switch (rule.Check)
            {
                case Check.Text:
                    p.CheckString(rule.Name, rule.Required, rule.MaxLength);
                    break;
                case Check.Integer:
                    p.Integer(rule.Name, rule.Required, rule.Minimum);
                    break;
                case Check.Number:
                    p.Number(rule.Name, rule.Required, rule.Minimum);
                    break;
                case Check.Boolean:
                    p.Boolean(rule.Name, rule.Required);
                    break;
                case Check.Present:
                    p.Present(rule.Name);
                    break;
                case Check.Seats:
                    EachEntry(p, rule, (entry, count) => Apply(rule.Entry, entry, count));
                    break;
                case Check.Rank:
                    if (p.Integer(rule.Name, required: true, rule.Minimum) is { } rank && rank > seats)
                    {
                        p.Fail(p.Of(rule.Name), string.Create(CultureInfo.InvariantCulture,
                            $"must be at most {seats}, the number of results (got {rank}); rank 1 is best, equal ranks are ties"));
                    }
                    break;
            }
        }
    }

    /// <summary>Applies <paramref name="rules"/> to each object of the array, with the array's length.</summary>
    private static void EachEntry(FieldReader p, FieldRule seats, Action<FieldReader, int> rules)
    {
        if (p.Array(seats.Name, EnvelopeRules.MinPlayers, EnvelopeRules.MaxPlayers) is not { } array)
        {
            return;
        }
        var count = array.GetArrayLength();
        var i = 0;
        foreach (var entry in array.EnumerateArray())
        {
            var path = string.Create(CultureInfo.InvariantCulture, $"{p.Of(seats.Name)}[{i++}]");
            if (entry.ValueKind != JsonValueKind.Object)
            {
                p.Fail(path, $"must be an object, not {FieldReader.Describe(entry)}");
                continue;
            }
            rules(p.Nested(entry, path), count);
        }
    }
}
