using System.Globalization;
using System.Text;

namespace Arena.Load;

/// <summary>How the command line shows progress and the result.</summary>
internal static class Report
{
    public static void Progress(LoadProgress p)
    {
        var line = new StringBuilder();
        line.Append(CultureInfo.InvariantCulture, $"[{p.Phase} {p.ElapsedSeconds,6:F1}s] sent {p.EventsSent,9}  accepted {p.AcceptedPerSecond,8:F0}/s  errors {p.Errors}");
        if (p.SseDeliveriesPerSecond is { } sse)
        {
            line.Append(CultureInfo.InvariantCulture, $"  sse {sse,9:F0}/s");
        }
        if (p.CommitLagMs is { } lag)
        {
            line.Append(CultureInfo.InvariantCulture, $"  commit lag {lag,7:F0} ms");
        }
        Console.Error.WriteLine(line.ToString());
    }

    public static string Summary(LoadResult r)
    {
        var s = new StringBuilder();
        var inv = CultureInfo.InvariantCulture;
        s.AppendLine(inv, $"runs           {r.RunPrefix}-* ({r.Runs}), batch {r.Batch}, {r.EventBytes:F0} B/event, {r.Connections} connection(s){(r.Cancelled ? ", CANCELLED" : "")}");
        s.AppendLine(inv, $"target         {(r.TargetRate is { } t ? $"{t:0.#} events/s" : "flat out")}");
        s.AppendLine(inv, $"sent           {r.EventsSent} events in {r.Requests} requests over {r.DurationSeconds:F2} s");
        s.AppendLine(inv, $"accepted       {r.EventsAccepted} events, {r.AcceptedPerSecond:F0} events/s");
        s.AppendLine(inv, $"failed         {r.FailedRequests} request(s){(r.Failures.Count == 0 ? "" : " — " + string.Join(", ", r.Failures.Select(f => $"{f.Key}: {f.Value}")))}");
        s.AppendLine(inv, $"request        {Latency(r.RequestLatency)}");
        if (r.ScheduledLatency is { } scheduled)
        {
            s.AppendLine(inv, $"  from due     {Latency(scheduled)}");
        }
        if (r.Sse is { } sse)
        {
            s.AppendLine(inv, $"sse            {sse.Connected}/{sse.Clients} client(s), {sse.Delivered} of {sse.Expected} expected deliveries, {sse.DeliveriesPerSecond:F0}/s, {sse.Reconnects} reconnect(s), {sse.Errors} error(s)");
            s.AppendLine(inv, $"  ingest→sse   {Latency(sse.Latency)}");
        }
        if (r.Persister is { } p)
        {
            s.AppendLine(inv, $"commit lag     max {p.MaxLagMs:F0} ms, p99 {p.P99LagMs:F0} ms, p50 {p.P50LagMs:F0} ms over {p.Samples} polls (mean poll {p.MeanPollMs:F1} ms, {p.Requests} requests, {p.PollErrors} failed)");
            s.AppendLine(inv, $"  threshold    {p.ThresholdMs:F0} ms: {(p.UnderThreshold ? "stayed under" : "EXCEEDED or not caught up")}; {(p.CaughtUp ? $"all {p.Visible} visible {p.CatchUpSeconds:F2} s after sending ended" : $"only {p.Visible} visible at the end")}");
        }
        return s.ToString();
    }

    private static string Latency(LatencySummary l) => string.Create(CultureInfo.InvariantCulture,
        $"p50 {l.P50Ms:F2} ms, p99 {l.P99Ms:F2} ms, p99.9 {l.P999Ms:F2} ms, max {l.MaxMs:F2} ms, mean {l.MeanMs:F2} ms (n={l.Count})");
}
