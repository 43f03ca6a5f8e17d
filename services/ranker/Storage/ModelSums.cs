namespace Arena.Ranker.Storage;

/// <summary>One run's LLM calls of one model: how many, their latency, tokens, and the cost of those that reported one.</summary>
internal readonly record struct CallSums(long Calls, double LatencyMs, long Tokens, long Costed, double CostUsd)
{
    public static CallSums operator +(CallSums a, CallSums b) =>
        new(a.Calls + b.Calls, a.LatencyMs + b.LatencyMs, a.Tokens + b.Tokens, a.Costed + b.Costed, a.CostUsd + b.CostUsd);
}

/// <summary>Each model's statistics over every run, and over the runs of each game.</summary>
public sealed record BoardStats(Dictionary<string, ModelStats> Global, Dictionary<string, Dictionary<string, ModelStats>> ByGame)
{
    public ModelStats Of(string? game, string model) =>
        (game is null ? Global : ByGame.GetValueOrDefault(game))?.GetValueOrDefault(model) ?? ModelStats.None;
}

/// <summary>
/// The sums behind each model's statistics, kept in memory beside the ranker's tables and
/// equal to this query over them (per game: over the runs whose game_start names it):
/// <code>
/// calls: SELECT model, avg(latency_ms), sum(tokens), sum(cost_usd) FROM llm_calls GROUP BY model
/// seats: SELECT DISTINCT run_id, player_id, model FROM players
/// moves: SELECT model, avg(invalid as 0/1) FROM actions JOIN seats USING (run_id, player_id) GROUP BY model
/// stats: calls FULL OUTER JOIN moves ON model
/// </code>
/// An action counts for every model its seat (run, player) was taken by, whichever of the
/// two arrived first. Not thread-safe: the store serialises access.
/// </summary>
internal sealed class ModelSums
{
    private readonly Dictionary<(string RunId, string Model), CallSums> _calls = [];
    private readonly Dictionary<(string RunId, string PlayerId), (long Actions, long Invalid)> _actions = [];
    private readonly Dictionary<(string RunId, string PlayerId), List<string>> _seats = [];

    public void AddCalls(string runId, string model, CallSums calls) =>
        _calls[(runId, model)] = _calls.GetValueOrDefault((runId, model)) + calls;

    public void AddActions(string runId, string playerId, long actions, long invalid)
    {
        var sum = _actions.GetValueOrDefault((runId, playerId));
        _actions[(runId, playerId)] = (sum.Actions + actions, sum.Invalid + invalid);
    }

    public void AddSeat(string runId, string playerId, string model)
    {
        if (!_seats.TryGetValue((runId, playerId), out var models))
        {
            _seats[(runId, playerId)] = [model];
        }
        else if (!models.Contains(model, StringComparer.Ordinal))
        {
            models.Add(model);
        }
    }

    /// <summary>Every run counts in the global statistics, and in its game's when <paramref name="runs"/> knows its game; a run that is not ranked counts nowhere.</summary>
    public BoardStats Stats(IReadOnlyDictionary<string, RunInfo> runs)
    {
        var global = new Totals();
        var byGame = new Dictionary<string, Totals>(StringComparer.Ordinal);
        void ForEachBoard(string runId, Action<Totals> add)
        {
            var run = runs.GetValueOrDefault(runId);
            if (run is { Ranked: false })
            {
                return;
            }
            add(global);
            if (run is not null)
            {
                if (!byGame.TryGetValue(run.Game, out var totals))
                {
                    byGame[run.Game] = totals = new Totals();
                }
                add(totals);
            }
        }

        foreach (var ((runId, model), calls) in _calls)
        {
            ForEachBoard(runId, t => t.Calls[model] = t.Calls.GetValueOrDefault(model) + calls);
        }
        foreach (var (seat, models) in _seats)
        {
            if (_actions.TryGetValue(seat, out var played))
            {
                ForEachBoard(seat.RunId, t =>
                {
                    foreach (var model in models)
                    {
                        var sum = t.Moves.GetValueOrDefault(model);
                        t.Moves[model] = (sum.Actions + played.Actions, sum.Invalid + played.Invalid);
                    }
                });
            }
        }
        return new BoardStats(global.Stats(), byGame.ToDictionary(g => g.Key, g => g.Value.Stats(), StringComparer.Ordinal));
    }

    private sealed class Totals
    {
        public Dictionary<string, CallSums> Calls { get; } = new(StringComparer.Ordinal);

        public Dictionary<string, (long Actions, long Invalid)> Moves { get; } = new(StringComparer.Ordinal);

        public Dictionary<string, ModelStats> Stats()
        {
            var stats = new Dictionary<string, ModelStats>(StringComparer.Ordinal);
            foreach (var (model, calls) in Calls)
            {
                stats[model] = new ModelStats(calls.LatencyMs / calls.Calls, calls.Tokens,
                    Moves.TryGetValue(model, out var played) ? InvalidShare(played) : null,
                    calls.Costed > 0 ? calls.CostUsd : null);
            }
            foreach (var (model, played) in Moves)
            {
                stats.TryAdd(model, ModelStats.None with { InvalidActionRate = InvalidShare(played) });
            }
            return stats;
        }
    }

    private static double InvalidShare((long Actions, long Invalid) played) => (double)played.Invalid / played.Actions;
}
