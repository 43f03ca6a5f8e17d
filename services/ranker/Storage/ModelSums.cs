namespace Arena.Ranker.Storage;

/// <summary>
/// The sums behind each model's statistics, kept in memory beside the ranker's tables and
/// equal to this query over them:
/// <code>
/// calls: SELECT model, avg(latency_ms), sum(tokens) FROM llm_calls GROUP BY model
/// seats: SELECT DISTINCT run_id, player_id, model FROM players
/// moves: SELECT model, avg(invalid as 0/1) FROM actions JOIN seats USING (run_id, player_id) GROUP BY model
/// stats: calls FULL OUTER JOIN moves ON model
/// </code>
/// An action counts for every model its seat (run, player) was taken by, whichever of the
/// two arrived first. Not thread-safe: the store serialises access.
/// </summary>
internal sealed class ModelSums
{
    private readonly Dictionary<string, (long Calls, double LatencyMs, long Tokens)> _calls = new(StringComparer.Ordinal);
    private readonly Dictionary<(string RunId, string PlayerId), (long Actions, long Invalid)> _actions = [];
    private readonly Dictionary<(string RunId, string PlayerId), List<string>> _seats = [];

    public void AddCalls(string model, long calls, double latencyMs, long tokens)
    {
        var sum = _calls.GetValueOrDefault(model);
        _calls[model] = (sum.Calls + calls, sum.LatencyMs + latencyMs, sum.Tokens + tokens);
    }

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

    public Dictionary<string, ModelStats> Stats()
    {
        var moves = new Dictionary<string, (long Actions, long Invalid)>(StringComparer.Ordinal);
        foreach (var (seat, models) in _seats)
        {
            if (_actions.TryGetValue(seat, out var played))
            {
                foreach (var model in models)
                {
                    var sum = moves.GetValueOrDefault(model);
                    moves[model] = (sum.Actions + played.Actions, sum.Invalid + played.Invalid);
                }
            }
        }
        var stats = new Dictionary<string, ModelStats>(StringComparer.Ordinal);
        foreach (var (model, calls) in _calls)
        {
            stats[model] = new ModelStats(calls.LatencyMs / calls.Calls, calls.Tokens,
                moves.TryGetValue(model, out var played) ? InvalidShare(played) : null);
        }
        foreach (var (model, played) in moves)
        {
            stats.TryAdd(model, new ModelStats(null, 0, InvalidShare(played)));
        }
        return stats;
    }

    private static double InvalidShare((long Actions, long Invalid) played) => (double)played.Invalid / played.Actions;
}
