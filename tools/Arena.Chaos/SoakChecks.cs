using System.Globalization;

namespace Arena.Chaos;

/// <summary>The verdicts a soak adds: no 5xx anywhere, memory flat after warm-up, every hostile client answered as it must be.</summary>
public static class SoakChecks
{
    public static IEnumerable<Check> All(SoakEvidence soak) => [NoServerErrors(soak), MemoryFlat(soak), HostileAnswered(soak)];

    private static Check NoServerErrors(SoakEvidence soak) =>
        new("no service answered a 5xx",
            "none in any service's own request metrics from the soak's start",
            soak.ServerErrors.Count == 0 ? "none" : string.Join(", ", soak.ServerErrors),
            soak.ServerErrors.Count == 0);

    private static Check MemoryFlat(SoakEvidence soak) =>
        new("every process's memory and Redis's are flat after warm-up",
            F($"last third's mean RSS (Redis: used_memory) within max({MemoryTrend.RelativeSlack:P0}, {MemoryTrend.FixedSlackMiB} MiB) above the middle third's; the first third is warm-up"),
            soak.Trends.Count == 0
                ? F($"{soak.Memory.Count} samples, too few to compare")
                : string.Join("; ", soak.Trends.Select(t => F($"{t.Process} {t.MiddleMiB:F0} → {t.LastMiB:F0} MiB ({Math.Round(t.LastMiB - t.MiddleMiB):+0;-0;0}, {t.AllowedMiB:F0} allowed)"))),
            soak.Trends.Count > 0 && soak.Trends.All(t => t.Flat));

    private static Check HostileAnswered(SoakEvidence soak)
    {
        var hostile = soak.Hostile;
        var unexpected = hostile.Answers.Where(a => !HostileClients.Expected[a.Key.Kind].Contains(a.Key.Answer)).ToList();
        var silent = HostileClients.Expected.Keys.Where(kind => !hostile.Answers.Keys.Any(a => a.Kind == kind)).ToList();
        var refused = hostile.Count(HostileClients.SseFlood, "refused");
        var problems = unexpected.Select(a => F($"{a.Key.Kind}: {a.Key.Answer} × {a.Value}"))
            .Concat(silent.Select(kind => $"{kind}: no answer at all"))
            .Concat(hostile.MostHeld > soak.ConnectionsPerClient ? [F($"the gateway held {hostile.MostHeld} flood connections at once")] : [])
            .Concat(refused == 0 || refused != soak.RefusedPerClient ? [F($"flood refusals seen {refused}, counted by the gateway {soak.RefusedPerClient}")] : [])
            .ToList();
        return new Check("hostile clients get the answers they must",
            F($"slow bodies 408 (or cut off); SSE flood held up to {soak.ConnectionsPerClient} at once, the rest refused as arena_sse_refused_total counts; oversized 413; 60 KB events 202; forged types and the pipeline's run 400"),
            string.Join(", ", hostile.Answers.OrderBy(a => a.Key.Kind, StringComparer.Ordinal).Select(a => F($"{a.Key.Kind}: {a.Key.Answer} {a.Value}")))
                + F($"; flood held at most {hostile.MostHeld}, gateway counted {soak.RefusedPerClient} refusals")
                + (problems.Count == 0 ? "" : "; UNEXPECTED: " + string.Join("; ", problems)),
            problems.Count == 0);
    }

    private static string F(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
