using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Arena.Chaos;

/// <summary>The verdict table and the figures, for the terminal and as results.md and results.json.</summary>
public static class ChaosReport
{
    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, WriteIndented = true };

    public static string Markdown(ChaosResult result)
    {
        var f = result.Figures;
        var text = new StringBuilder();
        text.AppendLine(Invariant($"Chaos run, seed {f.Seed}, appendfsync {f.AppendFsync}: {(result.Passed ? "PASS" : "FAIL")} in {f.DurationSeconds:F0} s on {f.Machine}."))
            .AppendLine()
            .AppendLine("| check | expected | found | verdict |")
            .AppendLine("|---|---|---|---|");
        foreach (var check in result.Checks)
        {
            text.AppendLine(Invariant($"| {check.Name} | {check.Expected} | {check.Found} | {check.Verdict} |"));
        }
        text.AppendLine()
            .AppendLine("| figure | value |")
            .AppendLine("|---|---|");
        foreach (var (name, value) in Rows(f))
        {
            text.AppendLine(Invariant($"| {name} | {value} |"));
        }
        return text.AppendLine().AppendLine(Invariant($"Replay: `{f.Replay}`")).ToString();
    }

    public static void Write(ChaosResult result, string outDir)
    {
        Directory.CreateDirectory(outDir);
        File.WriteAllText(Path.Combine(outDir, "results.md"), Markdown(result));
        File.WriteAllText(Path.Combine(outDir, "results.json"), JsonSerializer.Serialize(new
        {
            passed = result.Passed,
            figures = result.Figures,
            checks = result.Checks.Select(c => new { c.Name, c.Expected, c.Found, c.Verdict }),
        }, Json));
    }

    private static IEnumerable<(string, string)> Rows(ChaosFigures f)
    {
        yield return ("events accepted", Invariant($"{f.EventsAccepted:N0} ({f.GamesFinished:N0} games)"));
        yield return ("requests (retried after 503 / connection errors)", Invariant($"{f.Requests:N0} ({f.RequestRetries:N0})"));
        yield return ("duplicate POSTs", Invariant($"{f.DuplicateRequests:N0} requests, {f.DuplicateEvents:N0} events"));
        yield return ("rejected (400)", Invariant($"{f.RejectedRequests:N0} requests, {f.RejectedEvents:N0} events"));
        yield return ("poison", Invariant($"{f.PoisonRaw:N0} raw XADDs + {f.PoisonGameEnds:N0} game_ends = {f.PoisonPercent:F2}% of events"));
        yield return ("kill -9", Invariant($"{string.Join(", ", f.Kills.Select(k => $"{k.Key} {k.Value}"))} (consumer kills {f.ConsumerKills})"));
        yield return ("SIGTERM", string.Join(", ", f.Sigterms.Select(k => Invariant($"{k.Key} {k.Value}"))));
        yield return ("Redis kill -9 + restart", Invariant($"{f.RedisRestarts}"));
        yield return ("lost", Invariant($"{f.Lost} (per Redis kill: {string.Join(", ", f.LostPerRedisKill)})"));
        yield return ("duplicated", Invariant($"{f.Duplicated}"));
        yield return ("SSE", Invariant($"{f.SseClients} clients, {f.SseEventsReceived:N0} events received, {f.SseDrops} drops by the client, {f.SseBreaks.Values.Sum()} broken connections"));
        foreach (var (cause, count) in f.SseBreaks.OrderByDescending(b => b.Value).Take(5))
        {
            yield return ("SSE break: " + cause.Replace('|', '/'), Invariant($"{count}"));
        }
        if (f.IngestThroughput.Count > 0)
        {
            yield return ("ingest flat out, accepted events/s", string.Join(", ", f.IngestThroughput.Select(t => Invariant($"{t.Key} {t.Value:N0}"))));
        }
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
