using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using CsCheck;

namespace Arena.Contracts.Tests.Generated;

/// <summary>
/// Generated events: a valid event built from a v1 payload shape of schemas/v1, then left
/// valid (unknown extra fields, every timestamp form RFC 3339 allows, text of astral
/// characters, an unknown type or a newer schema version), or with exactly one rule broken.
/// Each case knows its verdict.
/// </summary>
internal sealed class EventCaseGen : Gen<EventCase>
{
    public override EventCase Generate(PCG pcg, Size? min, out Size size)
    {
        size = new Size(0);
        return new EventDraw(new Choices(pcg)).Case();
    }
}

/// <summary>One generated case: the event as built, where each of its fields sits, and what was done to it.</summary>
internal sealed class EventDraw(Choices c)
{
    private enum Shape { Id, Integer, Rank, Version, Type, Timestamp, Payload, PlayerId, Text, FreeText, Amount, Flag, AnyValue, Seats }

    /// <summary>A field of the event: its object, its name, the shape its value must have, and where the C# validation reports it.</summary>
    private sealed record Slot(JsonObject Parent, string Name, Shape Shape, bool Required, string Path);

    private static readonly string[] V1Types =
        [EventTypes.GameStart, EventTypes.TurnStart, EventTypes.Observation, EventTypes.LlmResponse, EventTypes.Action, EventTypes.GameEnd, EventTypes.Error];

    private const string IdAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-";
    private const string TextAlphabet = "abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.,'!é";

    private readonly JsonObject _event = [];
    private readonly List<Slot> _slots = [];
    private readonly List<JsonObject> _objects = [];
    private string _type = "";
    private JsonArray? _seats;

    public EventCase Case()
    {
        Build();
        return c.Int(0, 9) switch
        {
            < 3 => Valid(),
            3 => Retyped(),
            < 9 => Broken(),
            _ => BeyondSchema(),
        };
    }

    private EventCase Result(string what, Verdict verdict) => new($"{_type}: {what}", _event.ToJsonString(), verdict);

    private EventCase Valid()
    {
        var changes = new List<string>();
        for (var i = c.Int(0, 3); i > 0; i--)
        {
            changes.Add(c.OneIn(2) ? ExtraField() : ValidTimestamp());
        }
        return Result(changes.Count == 0 ? "as built" : string.Join(", ", changes), Verdict.Valid);
    }

    /// <summary>An unknown type or a newer schema version: the payload is judged as an object only, so breaking its v1 shape changes nothing.</summary>
    private EventCase Retyped()
    {
        var what = c.OneIn(2)
            ? Set(_event, "type", Quote("chat_" + c.Text("abcdefghijklmnopqrstuvwxyz_", c.Int(1, 10))))
            : Set(_event, "schema_version", c.Pick("2", "3", "2147483647"));
        var payloadSlots = _slots.Where(s => s.Parent != _event).ToArray();
        if (c.OneIn(2))
        {
            what += ", " + BreakSlot(c.Pick(payloadSlots));
        }
        return Result(what, Verdict.Valid);
    }

    private EventCase Broken()
    {
        switch (c.Int(0, 9))
        {
            case 0:
                return Result(c.OneIn(2)
                    ? Set(_event, "type", Quote(c.Pick(EventTypes.StreamOverflow, EventTypes.LeaderboardUpdated)))
                    : Set(_event, "run_id", Quote(PipelineRun.Id)), Verdict.Invalid);
            case 1 when _type == EventTypes.GameEnd && _seats!.Count < EnvelopeRules.MaxPlayers:
                var seat = c.Int(0, _seats.Count - 1);
                var rank = c.Int(_seats.Count + 1, EnvelopeRules.MaxPlayers);
                _seats[seat]!["rank"] = rank;
                return Result($"payload.results[{seat}].rank = {rank} of {_seats.Count} players", Verdict.Invalid);
            case 2 when _seats is not null:
                return Result(BreakSeats(), Verdict.Invalid);
            default:
                return Result(BreakSlot(c.Pick([.. _slots])), Verdict.Invalid);
        }
    }

    /// <summary>Breaks one rule JSON Schema cannot state: integers written as decimals, a misplaced leap second, an instant out of range.</summary>
    private EventCase BeyondSchema()
    {
        var integers = _slots.Where(s => s.Shape is Shape.Integer or Shape.Rank or Shape.Version && s.Parent[s.Name] is JsonValue).ToArray();
        return c.Int(0, 2) switch
        {
            0 => Result(Set(c.Pick(integers), raw => raw + c.Pick(".0", "e0", ".00", "E+0")), Verdict.InvalidBeyondSchema),
            1 => Result(Set(_event, "ts", Quote(Timestamps.MisplacedLeapSecond(c))), Verdict.InvalidBeyondSchema),
            _ => Result(Set(_event, "ts", Quote(c.Pick(Timestamps.OutOfRange))), Verdict.InvalidBeyondSchema),
        };
    }

    private string BreakSlot(Slot slot)
    {
        var bad = BadValues(slot);
        if (slot.Required && (bad.Length == 0 || c.OneIn(4)))
        {
            if (c.OneIn(2))
            {
                slot.Parent.Remove(slot.Name);
                return $"{slot.Path} removed";
            }
            slot.Parent[slot.Name] = null;
            return $"{slot.Path} = null";
        }
        return Set(slot, _ => c.Pick(bad));
    }

    private string BreakSeats()
    {
        var count = _seats!.Count;
        switch (c.Int(0, 2))
        {
            case 0:
                while (_seats.Count > 1)
                {
                    _seats.RemoveAt(_seats.Count - 1);
                }
                return $"{count} seats cut to 1";
            case 1:
                while (_seats.Count <= EnvelopeRules.MaxPlayers)
                {
                    _seats.Add(_seats[0]!.DeepClone());
                }
                return $"{count} seats grown to {_seats.Count}";
            default:
                var at = c.Int(0, count - 1);
                _seats[at] = JsonNode.Parse(c.Pick("42", "\"p1\"", "[]", "true"));
                return $"seat {at} not an object";
        }
    }

    /// <summary>Values the slot's shape refuses (null and removal are tried separately for required fields).</summary>
    private string[] BadValues(Slot slot) => slot.Shape switch
    {
        Shape.Id => ["\"\"", Quote(new string('r', 129)), "\"run 1\"", "\"run/1\"", "\"r\\u00e9\"", "\"run-1\\n\"", "42", "true", "{}"],
        Shape.Integer => ["-1", "-9223372036854775808", "1.5", "\"7\"", "true", "[]", "9223372036854775808", "1e19"],
        Shape.Rank => ["0", "-3", "1.5", "\"1\"", "{}"],
        Shape.Version => ["0", "-1", "\"1\"", "1.5", "2147483648"],
        Shape.Type => ["\"\"", "\"Turn_Start\"", "\"1turn\"", "\"turn-start\"", Quote(new string('t', 65)), "42"],
        Shape.Timestamp => [.. Timestamps.Malformed.Select(Quote), "1732356000", "true"],
        Shape.Payload => ["[]", "\"x\"", "3"],
        Shape.PlayerId => [Quote(new string('p', 129)), Quote(c.Astral(129)), "42", "[]", .. slot.Required ? ["\"\""] : Array.Empty<string>()],
        Shape.Text => [Quote(new string('m', 1025)), Quote(c.Astral(1025)), "42", "true", "{}", .. slot.Required ? ["\"\""] : Array.Empty<string>()],
        Shape.FreeText => ["42", "true", "{}", .. slot.Required ? ["\"\""] : Array.Empty<string>()],
        Shape.Amount => ["-0.5", "-1", "-1e-3", "\"1.5\"", "true", "{}"],
        Shape.Flag => ["\"true\"", "1", "{}"],
        Shape.Seats => ["{}", "\"x\"", "[]", "3"],
        _ => [],
    };

    private string ExtraField()
    {
        var name = "x_" + c.Text("abcdefghijklmnopqrstuvwxyz", c.Int(1, 8));
        return Set(c.Pick([.. _objects]), name, c.Pick("1", "\"s\"", "null", "{\"a\":[1,2]}", "[]", "true", "-2.5e3"));
    }

    private string ValidTimestamp() => Set(_event, "ts", Quote(c.Int(0, 2) switch
    {
        0 => Timestamps.Valid(c),
        1 => Timestamps.LeapSecond(c),
        _ => c.Pick(Timestamps.Edges),
    }));

    private string Set(Slot slot, Func<string, string> literal)
    {
        var raw = literal(slot.Parent[slot.Name]?.ToJsonString() ?? "null");
        slot.Parent[slot.Name] = JsonNode.Parse(raw);
        return $"{slot.Path} = {Preview(raw)}";
    }

    private static string Set(JsonObject parent, string name, string raw)
    {
        parent[name] = JsonNode.Parse(raw);
        return $"{name} = {Preview(raw)}";
    }

    private static string Preview(string raw) => raw.Length <= 60 ? raw : raw[..60] + "…";

    private static string Quote(string text) => JsonSerializer.Serialize(text);

    private void Build()
    {
        _objects.Add(_event);
        _type = c.Pick(V1Types);
        Field(_event, "", "event_id", Shape.Id, required: false, () => Quote(c.Text(IdAlphabet, c.OneIn(8) ? EnvelopeRules.MaxIdLength : c.Int(1, 16))));
        Field(_event, "", "run_id", Shape.Id, required: true, () => Quote(c.Text(IdAlphabet, c.OneIn(8) ? EnvelopeRules.MaxIdLength : c.Int(1, 16))));
        Field(_event, "", "seq", Shape.Integer, required: true, Integer);
        Field(_event, "", "type", Shape.Type, required: true, () => Quote(_type));
        Field(_event, "", "schema_version", Shape.Version, required: true, () => "1");
        Field(_event, "", "ts", Shape.Timestamp, required: true, () => Quote(Timestamps.Valid(c)));
        var payload = new JsonObject();
        _event["payload"] = payload;
        _slots.Add(new Slot(_event, "payload", Shape.Payload, true, "payload"));
        _objects.Add(payload);
        Payload(payload);
    }

    private void Payload(JsonObject p)
    {
        const string P = "payload";
        switch (_type)
        {
            case EventTypes.GameStart:
                Field(p, P, "game", Shape.Text, required: true, Text);
                Field(p, P, "map", Shape.Text, required: false, Text);
                Seats(p, "players", (seat, path, _) =>
                {
                    Field(seat, path, "player_id", Shape.PlayerId, required: true, PlayerId);
                    Field(seat, path, "model", Shape.Text, required: true, Text);
                    Field(seat, path, "civ", Shape.Text, required: false, Text);
                    Field(seat, path, "team", Shape.Integer, required: false, Integer);
                });
                break;
            case EventTypes.TurnStart:
                Turn(p, P);
                break;
            case EventTypes.Observation:
                Turn(p, P);
                Field(p, P, "observation", Shape.AnyValue, required: true, AnyValue);
                break;
            case EventTypes.LlmResponse:
                Turn(p, P);
                Field(p, P, "model", Shape.Text, required: true, Text);
                Field(p, P, "prompt_tokens", Shape.Integer, required: true, Integer);
                Field(p, P, "completion_tokens", Shape.Integer, required: true, Integer);
                Field(p, P, "latency_ms", Shape.Amount, required: true, Amount);
                Field(p, P, "cost_usd", Shape.Amount, required: false, Amount);
                Field(p, P, "text", Shape.FreeText, required: false, Text);
                break;
            case EventTypes.Action:
                Turn(p, P);
                Field(p, P, "action", Shape.AnyValue, required: true, AnyValue);
                Field(p, P, "valid", Shape.Flag, required: true, Flag);
                Field(p, P, "error", Shape.FreeText, required: false, Text);
                break;
            case EventTypes.GameEnd:
                Seats(p, "results", (seat, path, players) =>
                {
                    Field(seat, path, "player_id", Shape.PlayerId, required: true, PlayerId);
                    Field(seat, path, "model", Shape.Text, required: true, Text);
                    Field(seat, path, "rank", Shape.Rank, required: true, () => c.Int(1, players).ToString(CultureInfo.InvariantCulture));
                });
                Field(p, P, "reason", Shape.Text, required: false, Text);
                Field(p, P, "duration_s", Shape.Amount, required: false, Amount);
                break;
            default:
                Field(p, P, "player_id", Shape.PlayerId, required: false, PlayerId);
                Field(p, P, "message", Shape.FreeText, required: true, Text);
                Field(p, P, "fatal", Shape.Flag, required: true, Flag);
                break;
        }
    }

    private void Turn(JsonObject p, string path)
    {
        Field(p, path, "turn", Shape.Integer, required: true, Integer);
        Field(p, path, "player_id", Shape.PlayerId, required: true, PlayerId);
    }

    private void Seats(JsonObject p, string name, Action<JsonObject, string, int> fill)
    {
        var players = c.Int(EnvelopeRules.MinPlayers, EnvelopeRules.MaxPlayers);
        _seats = [];
        for (var i = 0; i < players; i++)
        {
            var seat = new JsonObject();
            fill(seat, $"payload.{name}[{i}]", players);
            _seats.Add(seat);
            _objects.Add(seat);
        }
        p[name] = _seats;
        _slots.Add(new Slot(p, name, Shape.Seats, true, $"payload.{name}"));
    }

    /// <summary>A field as the shape allows it: always present when required; else present, null or absent.</summary>
    private void Field(JsonObject parent, string path, string name, Shape shape, bool required, Func<string> literal)
    {
        _slots.Add(new Slot(parent, name, shape, required, path.Length == 0 ? name : $"{path}.{name}"));
        if (required || c.OneIn(2))
        {
            parent[name] = JsonNode.Parse(literal());
        }
        else if (c.OneIn(2))
        {
            parent[name] = null;
        }
    }

    private string Integer() => (c.OneIn(4) ? c.Long() : c.Int(0, 1000)).ToString(CultureInfo.InvariantCulture);

    private string Amount() => c.OneIn(3)
        ? c.Pick("0", "-0", "1e2", "0.0", "2.5E-3")
        : (c.Int(0, 10_000_000) / 100.0).ToString("R", CultureInfo.InvariantCulture);

    private string PlayerId() => Quote(c.OneIn(6) ? c.Astral(c.Int(1, EnvelopeRules.MaxIdLength)) : c.Text(TextAlphabet, c.Int(1, 12)));

    private string Text() => Quote(c.OneIn(8) ? c.Astral(c.Int(1, EnvelopeRules.MaxTextLength)) : c.Text(TextAlphabet, c.Int(1, 20)));

    private string Flag() => c.Pick("true", "false");

    private string AnyValue() => c.Pick("\"fog\"", "{\"food\":200}", "[1,\"a\"]", "0", "false", "{}");
}
