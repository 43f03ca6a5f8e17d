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
        var kind = f.Soak is null ? "Chaos run" : Invariant($"Soak of {f.Soak.Minutes:0.#} min");
        text.AppendLine(Invariant($"{kind}, seed {f.Seed}, appendfsync {f.AppendFsync}: {(result.Passed ? "PASS" : "FAIL")} in {f.DurationSeconds:F0} s on {f.Machine}."))
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
        if (f.Soak is not null)
        {
            AppendMemory(text, f.Soak);
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

    /// <summary>The memory series, one row per minute (the first sample at or after it), in MiB.</summary>
    private static void AppendMemory(StringBuilder text, SoakFigures soak)
    {
        var processes = soak.MemorySamples[0].Bytes.Keys.ToList();
        text.AppendLine()
            .AppendLine(Invariant($"Memory, MiB (services: VmRSS; Redis: used_memory), sampled every {MemorySampler.Interval.TotalSeconds:F0} s:"))
            .AppendLine()
            .AppendLine("| minute | " + string.Join(" | ", processes) + " |")
            .AppendLine("|---|" + string.Concat(processes.Select(_ => "---|")));
        var rows = soak.MemorySamples.GroupBy(s => (int)Math.Floor(s.Minute)).Select(g => g.First()).Append(soak.MemorySamples[^1]).Distinct();
        foreach (var sample in rows)
        {
            text.AppendLine(Invariant($"| {sample.Minute:F1} | ") + string.Join(" | ", processes.Select(p => Invariant($"{MemoryTrend.MiB(sample.Bytes[p]):F0}"))) + " |");
        }
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
        if (f.Soak is { } soak)
        {
            foreach (var answers in soak.Answers.GroupBy(a => a.Kind))
            {
                yield return ("hostile: " + answers.Key, string.Join(", ", answers.Select(a => Invariant($"{a.Answer} {a.Count:N0}"))));
            }
            yield return ("SSE flood connections held at once", Invariant($"at most {soak.SseFloodMostHeld} (per-client limit {soak.SseConnectionsPerClient})"));
            yield return ("DuckDB memory_limit, persister and ranker", ChaosPipeline.SoakDuckDbMemoryLimit);
            yield return ("5xx answered", soak.ServerErrors.Count == 0 ? "none" : string.Join(", ", soak.ServerErrors));
            foreach (var trend in soak.Memory)
            {
                yield return ("memory: " + trend.Process, Invariant($"start {trend.StartMiB:F0} MiB, end {trend.EndMiB:F0} MiB; mean middle third {trend.MiddleMiB:F0}, last third {trend.LastMiB:F0}"));
            }
        }
        if (f.IngestThroughput.Count > 0)
        {
            yield return ("ingest flat out, accepted events/s", string.Join(", ", f.IngestThroughput.Select(t => Invariant($"{t.Key} {t.Value:N0}"))));
        }
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
