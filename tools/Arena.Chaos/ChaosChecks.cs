using System.Globalization;
using System.Text.Json;
using Arena.Contracts;

namespace Arena.Chaos;

/// <summary>The verdicts of a run: each guarantee the chaos exercised, as expected against found.</summary>
public static class ChaosChecks
{
    private const double Tolerance = 1e-9;

    public static IReadOnlyList<Check> All(Evidence e, out Losses losses, out long duplicated)
    {
        var accepted = AcceptedOnce(e, out losses, out duplicated);
        return [accepted, NothingRejected(e), PoisonDeadLettered(e, losses), NothingPending(e), LeaderboardRecomputes(e), SseExactlyOnce(e, losses),
            DuplicatesAnswered(e), SigtermsClean(e), NoUnplannedExits(e), .. e.Soak is null ? [] : SoakChecks.All(e.Soak)];
    }

    private static Check AcceptedOnce(Evidence e, out Losses losses, out long duplicated)
    {
        var rowsByEventId = e.Stored.ToLookup(r => r.EventId, StringComparer.Ordinal);
        long doubled = 0, wrongId = 0;
        var missing = new List<AcceptedEvent>();
        foreach (var accepted in e.Ledger.AcceptedEvents)
        {
            var rows = rowsByEventId[accepted.EventId].ToList();
            if (rows.Count == 0)
            {
                missing.Add(accepted);
            }
            else if (rows.Count > 1)
            {
                doubled += rows.Count - 1;
            }
            else if (rows[0].StreamId != accepted.StreamId)
            {
                wrongId++;
            }
        }
        var doubledStreamIds = e.Stored.Count - e.Stored.DistinctStreamIds;
        var unexpected = e.Stored.Count(r => r.RunId != PipelineRun.Id && !e.Ledger.TryGet(r.EventId, out _));
        losses = new Losses(
            [.. missing.Select(m => m.StreamId).Concat(e.Ledger.LostOnResend.Select(l => l.StreamId))],
            e.LossWindow);
        var lossPasses = losses.Count == 0 || (e.Options.LossIsMeasured && losses.Unexplained == 0);
        duplicated = doubled + doubledStreamIds;
        return new Check("every accepted event is in DuckDB exactly once (by event_id and stream ID)",
            F($"{e.Ledger.Accepted} events, each once at the stream ID its 202 named; lost 0{(e.Options.LossIsMeasured ? " (everysec: loss measured, only within 2 s before a Redis kill)" : "")}"),
            F($"{e.Stored.Count(r => r.RunId != PipelineRun.Id)} rows; lost {losses.Count} ({losses.Unexplained} outside a Redis-kill window), duplicated {duplicated}, at another stream ID {wrongId}, never accepted {unexpected}"),
            lossPasses && duplicated == 0 && wrongId == 0 && unexpected == 0);
    }

    private static Check NothingRejected(Evidence e)
    {
        var rejected = e.Ledger.Rejected.ToHashSet(StringComparer.Ordinal);
        var inDuckDb = e.Stored.Count(r => rejected.Contains(r.EventId));
        var onStream = e.StreamEventIds.Count(rejected.Contains);
        var inDlq = e.DeadLetters.Count(d => d.EventId is { } id && rejected.Contains(id));
        return new Check("nothing ingest rejected is anywhere",
            F($"{rejected.Count} events in {e.Ledger.RejectedRequests} requests answered 400; none in DuckDB, stream or DLQ"),
            F($"{e.Ledger.RejectedRequests - e.Ledger.RejectedWrongStatus} answered 400; in DuckDB {inDuckDb}, on the stream {onStream}, in the DLQ {inDlq}"),
            e.Ledger.RejectedRequests > 0 && e.Ledger.RejectedWrongStatus == 0 && inDuckDb + onStream + inDlq == 0);
    }

    private static Check PoisonDeadLettered(Evidence e, Losses losses)
    {
        var expected = new HashSet<(StreamId, string)>();
        foreach (var raw in e.Ledger.RawPoison)
        {
            expected.Add((raw.StreamId, "persister"));
            expected.Add((raw.StreamId, "ranker"));
        }
        foreach (var poison in e.Ledger.AcceptedEvents.Where(a => a.Poison))
        {
            expected.Add((poison.StreamId, "ranker"));
        }
        var letters = e.DeadLetters.Where(d => d.Group is "persister" or "ranker").ToList();
        var counts = letters.GroupBy(d => (d.OriginalId, d.Group)).ToDictionary(g => g.Key, g => g.Count());
        var missing = expected.Where(x => !counts.ContainsKey(x)).ToList();
        // With everysec, an entry written in the last second before a Redis kill may be gone with it;
        // and a DLQ that held its cap dropped its oldest letters, each counted.
        var missingUnexplained = Math.Max(0, missing.Count(x => !e.Options.LossIsMeasured || losses.Window.KillThatLost(x.Item1) is null) - e.DeadLettersDropped);
        var repeated = counts.Where(c => expected.Contains(c.Key)).Sum(c => c.Value - 1);
        var example = counts.FirstOrDefault(c => c.Value > 1 || !expected.Contains(c.Key));
        var unexpected = counts.Where(c => !expected.Contains(c.Key)).Sum(c => c.Value);
        var withoutReason = letters.Count(d => string.IsNullOrWhiteSpace(d.Error));
        return new Check("every poison entry is in the DLQ with a reason, once per group that failed it",
            F($"{e.Ledger.RawPoison.Count} raw × (persister, ranker) + {e.PoisonGameEnds} game_end × ranker = {expected.Count} dead letters"),
            F($"{letters.Count} dead letters; missing {missing.Count} ({e.DeadLettersDropped} dropped at the DLQ's cap, {missingUnexplained} unexplained), repeated {repeated}, not poison {unexpected}, without reason {withoutReason}{(example.Value > 0 ? $" (e.g. {example.Key.OriginalId} × {example.Value} in {example.Key.Group})" : "")}"),
            expected.Count > 0 && missingUnexplained == 0 && repeated == 0 && unexpected == 0 && withoutReason == 0);
    }

    private static Check NothingPending(Evidence e) =>
        new("no pending entries remain in any group",
            "every group: 0 pending, delivered up to the stream's last entry",
            string.Join("; ", e.Groups.Select(g => g.ToString())),
            e.Groups.Count >= (e.Recomputed is null ? 2 : 3) && e.Groups.All(g => g.CaughtUp));

    private static Check LeaderboardRecomputes(Evidence e)
    {
        var games = e.Ledger.GamesFinished;
        var differences = new List<string>();
        if (e.Leaderboard.GetProperty("games").GetInt64() != games)
        {
            differences.Add(F($"games {e.Leaderboard.GetProperty("games").GetInt64()}"));
        }
        var mine = ByModel(e.Leaderboard);
        if (e.Recomputed is not { } recomputed)
        {
            return new Check("the leaderboard counts every finished game",
                F($"{games} games (a soak trims its stream as it runs: nothing is left whole to recompute from)"),
                differences.Count == 0 ? F($"{mine.Count} models, {games} games") : string.Join("; ", differences),
                differences.Count == 0 && mine.Count > 0);
        }
        var fresh = ByModel(recomputed);
        if (!mine.Keys.Order().SequenceEqual(fresh.Keys.Order()))
        {
            differences.Add("models differ");
        }
        foreach (var (model, entry) in mine.Where(m => fresh.ContainsKey(m.Key)))
        {
            foreach (var field in (string[])["rating", "ci_low", "ci_high", "elo_online", "avg_latency_ms", "invalid_action_rate"])
            {
                if (!Close(entry.GetProperty(field), fresh[model].GetProperty(field)))
                {
                    differences.Add(F($"{model}.{field} {entry.GetProperty(field)} vs {fresh[model].GetProperty(field)}"));
                }
            }
            foreach (var field in (string[])["rank", "games", "wins", "losses", "draws", "tokens"])
            {
                if (entry.GetProperty(field).GetInt64() != fresh[model].GetProperty(field).GetInt64())
                {
                    differences.Add(F($"{model}.{field} {entry.GetProperty(field)} vs {fresh[model].GetProperty(field)}"));
                }
            }
        }
        return new Check("the leaderboard equals a fresh ranker's recompute",
            F($"{games} games; every model's rating, CI, elo_online, stats to 1e-9, rank and counts exactly, as a fresh ranker (own group, empty store) computes them"),
            differences.Count == 0 ? F($"{mine.Count} models, {games} games, all equal") : string.Join("; ", differences.Take(5)),
            differences.Count == 0 && mine.Count > 0);
    }

    private static Check SseExactlyOnce(Evidence e, Losses losses)
    {
        var byRun = e.Stored.ToLookup(r => r.RunId, StringComparer.Ordinal);
        var lost = losses.StreamIds.ToHashSet();
        var failures = new List<string>();
        foreach (var watcher in e.Watchers)
        {
            var expected = byRun[watcher.RunId].Select(r => r.StreamId).Order().ToList();
            // Events that died with Redis (everysec) may have reached a client first; they are not held against it.
            var received = watcher.Received.Where(r => !(e.Options.LossIsMeasured && lost.Contains(r.Id))).ToList();
            var ordered = received.Zip(received.Skip(1)).All(p => p.First.Id < p.Second.Id);
            var exact = received.Select(r => r.Id).SequenceEqual(expected);
            var eventIdsMatch = received.All(r => e.Ledger.TryGet(r.EventId, out var a) && a.StreamId == r.Id);
            if (!(ordered && exact && eventIdsMatch))
            {
                failures.Add(F($"{watcher.RunId}: received {received.Count} of {expected.Count}, in order {ordered}, event_ids match {eventIdsMatch}"));
            }
        }
        return new Check("every SSE client saw its run's events exactly once and in order",
            F($"{e.Watchers.Count} clients, each its run's events (by stream ID and event_id) once, in stream order, across drops and gateway kills"),
            failures.Count == 0
                ? F($"{e.Watchers.Count} clients exact: {e.Watchers.Sum(w => w.Received.Count)} events, {e.Watchers.Sum(w => w.Drops)} drops, {e.Watchers.Sum(w => w.Errors)} broken connections")
                : string.Join("; ", failures.Take(3)),
            failures.Count == 0);
    }

    private static Check DuplicatesAnswered(Evidence e) =>
        new("duplicate POSTs return the original stream IDs with duplicate=true",
            F($"{e.Ledger.DuplicateEvents} re-sent events, each duplicate=true at its first stream ID"),
            F($"{e.Ledger.DuplicateRequests} requests re-sent; {e.Ledger.DuplicateMismatches.Count} mismatches{(e.Ledger.DuplicateMismatches.IsEmpty ? "" : ": " + string.Join("; ", e.Ledger.DuplicateMismatches.Take(3)))}; {e.Ledger.LostOnResend.Count} stored again after Redis lost the original"),
            e.Ledger.DuplicateRequests > 0 && e.Ledger.DuplicateMismatches.IsEmpty);

    private static Check SigtermsClean(Evidence e)
    {
        var unclean = e.Faults.UncleanSigterms.Concat(e.FinalExits.Where(x => x.Value != 0).Select(x => F($"{x.Key} exited with {x.Value} at the end"))).ToList();
        return new("a SIGTERM, mid-batch or at the end, ends the service cleanly (exit 0)",
            F($"{e.Faults.Sigterms.Values.Sum()} exits with 0 mid-run, {e.FinalExits.Count} at the end"),
            unclean.Count == 0 ? "all 0" : string.Join("; ", unclean),
            unclean.Count == 0);
    }

    private static Check NoUnplannedExits(Evidence e) =>
        new("no service exited unless the plan killed or stopped it",
            "none",
            e.UnplannedExits.Count == 0 ? "none" : string.Join(", ", e.UnplannedExits),
            e.UnplannedExits.Count == 0);

    private static Dictionary<string, JsonElement> ByModel(JsonElement board) =>
        board.GetProperty("models").EnumerateArray().ToDictionary(m => m.GetProperty("model").GetString()!, StringComparer.Ordinal);

    private static bool Close(JsonElement a, JsonElement b) =>
        a.ValueKind == JsonValueKind.Null || b.ValueKind == JsonValueKind.Null
            ? a.ValueKind == b.ValueKind
            : Math.Abs(a.GetDouble() - b.GetDouble()) <= Tolerance * Math.Max(1, Math.Abs(a.GetDouble()));

    private static string F(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}

/// <summary>Accepted events missing after the run, by the stream ID their 202 named, and which Redis kill took each.</summary>
public sealed class Losses(IReadOnlyList<StreamId> streamIds, LossWindow window)
{
    public IReadOnlyList<StreamId> StreamIds => streamIds;
    public LossWindow Window => window;
    public int Count => streamIds.Count;
    public int Unexplained => streamIds.Count(id => window.KillThatLost(id) is null);

    /// <summary>Lost events per Redis kill, in kill order (kills that lost nothing count 0).</summary>
    public IReadOnlyList<int> PerKill(IEnumerable<long> kills) =>
        [.. kills.Order().Select(kill => streamIds.Count(id => window.KillThatLost(id) == kill))];
}
