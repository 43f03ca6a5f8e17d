using System.Globalization;
using System.Text.Json;
using Arena.Contracts;

namespace Arena.Simulator;

/// <summary>A model in the simulated arena; <see cref="Strength"/> is hidden skill on the Elo scale.</summary>
public sealed record SimulatedModel(string Name, double Strength, double LatencyMs);

/// <summary>
/// One plausible Age of Empires II match among LLM agents, as the batches of events a
/// harness would publish: <c>game_start</c>, then per turn and player <c>turn_start</c>,
/// <c>observation</c>, <c>llm_response</c> and <c>action</c>, then <c>game_end</c>.
/// Deterministic for a given random source.
/// </summary>
public sealed class SimulatedMatch
{
    public static readonly IReadOnlyList<SimulatedModel> DefaultModels =
    [
        new("gpt-5", 1180, 2400),
        new("claude-opus-4", 1170, 2100),
        new("gemini-2.5-pro", 1120, 1800),
        new("grok-4", 1080, 2600),
        new("deepseek-r1", 1050, 3900),
        new("qwen3-235b", 1000, 1500),
        new("llama-4-maverick", 940, 900),
        new("mistral-large", 900, 1100),
    ];

    private static readonly string[] Civs = ["Britons", "Franks", "Mongols", "Byzantines", "Aztecs", "Japanese", "Persians", "Vikings"];
    private static readonly string[] Maps = ["Arabia", "Arena", "Black Forest", "Islands", "Nomad"];
    private static readonly string[] Actions = ["train_villager", "build_house", "gather_wood", "advance_age", "train_archers", "scout", "attack", "build_castle"];

    private readonly Random _random;
    private readonly IReadOnlyList<(string PlayerId, SimulatedModel Model)> _players;
    private long _seq;

    public SimulatedMatch(Random random, IReadOnlyList<SimulatedModel> models, int gameNumber, DateTimeOffset start)
    {
        _random = random;
        var count = random.NextDouble() < 0.6 ? 2 : random.Next(3, Math.Min(8, models.Count) + 1);
        _players = [.. models.OrderBy(_ => random.Next()).Take(count).Select((m, i) => ($"p{i + 1}", m))];
        Turns = random.Next(6, 21);
        RunId = string.Create(CultureInfo.InvariantCulture, $"aoe2-{start:yyyyMMdd-HHmmss}-{gameNumber:D4}-{random.Next(0x10000):x4}");
    }

    public string RunId { get; }
    public int Turns { get; }
    public int Players => _players.Count;

    public IEnumerable<IReadOnlyList<Envelope>> Batches()
    {
        yield return [Event(EventTypes.GameStart, new GameStart(
            "aoe2",
            [.. _players.Select(p => new Player(p.PlayerId, p.Model.Name, Civs[_random.Next(Civs.Length)]))],
            Maps[_random.Next(Maps.Length)]))];

        for (var turn = 1; turn <= Turns; turn++)
        {
            var batch = new List<Envelope>();
            foreach (var (playerId, model) in _players)
            {
                batch.AddRange(Turn(turn, playerId, model));
            }
            yield return batch;
        }

        yield return [Event(EventTypes.GameEnd, new GameEnd(Results(), Reason(), Turns * 45.0))];
    }

    private IEnumerable<Envelope> Turn(int turn, string playerId, SimulatedModel model)
    {
        yield return Event(EventTypes.TurnStart, new TurnStart(turn, playerId));
        yield return Event(EventTypes.Observation, new Observation(turn, playerId, JsonSerializer.SerializeToElement(
            Resources(_random, turn), SimulatorJson.Default.DictionaryStringInt32)));
        var prompt = _random.Next(1200, 6000);
        var completion = _random.Next(40, 600);
        var action = Actions[_random.Next(Actions.Length)];
        yield return Event(EventTypes.LlmResponse, new LlmResponse(turn, playerId, model.Name, prompt, completion,
            Math.Round(model.LatencyMs * (0.5 + _random.NextDouble()), 1),
            Math.Round((prompt * 2.5 + completion * 10) / 1_000_000, 6),
            $"I will {action.Replace('_', ' ')}."));
        var valid = _random.NextDouble() > 0.08;
        yield return Event(EventTypes.Action, new ActionTaken(turn, playerId,
            JsonSerializer.SerializeToElement(action, SimulatorJson.Default.String), valid,
            valid ? null : "target out of range"));
    }

    /// <summary>
    /// What a player sees at a turn, the <c>observation</c> of an observation event: its
    /// stockpiles and population. Also the content of the load generator's events.
    /// </summary>
    public static Dictionary<string, int> Resources(Random random, int turn) => new()
    {
        ["food"] = random.Next(0, 2000),
        ["wood"] = random.Next(0, 2000),
        ["gold"] = random.Next(0, 1500),
        ["stone"] = random.Next(0, 800),
        ["population"] = Math.Min(200, 5 + turn * random.Next(2, 8)),
    };

    /// <summary>Ranks by strength plus noise (Elo-like: 400 points ≈ a factor of ten in odds); teams do not occur, ties are rare.</summary>
    private IReadOnlyList<GameResult> Results()
    {
        var scored = _players
            .Select(p => (p.PlayerId, p.Model, Score: p.Model.Strength + Gumbel() * 400 / Math.Log(10)))
            .OrderByDescending(p => p.Score)
            .ToList();
        var results = new List<GameResult>(scored.Count);
        for (var i = 0; i < scored.Count; i++)
        {
            var tie = i > 0 && _random.NextDouble() < 0.04;
            results.Add(new GameResult(scored[i].PlayerId, scored[i].Model.Name, tie ? results[i - 1].Rank : i + 1));
        }
        return results;
    }

    private double Gumbel() => -Math.Log(-Math.Log(Math.Clamp(_random.NextDouble(), 1e-12, 1 - 1e-12)));

    private string Reason() => _players.Count == 2 ? "resignation" : "last_standing";

    private Envelope Event<T>(string type, T payload) where T : notnull
    {
        var seq = ++_seq;
        return Envelope.Create(RunId, seq, type, DateTimeOffset.UtcNow, payload,
            eventId: string.Create(CultureInfo.InvariantCulture, $"{RunId}:{seq}"));
    }
}
