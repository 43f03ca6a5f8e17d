using System.Diagnostics.Metrics;
using Arena.ServiceDefaults;

namespace Arena.SseGateway;

public sealed class GatewayMetrics
{
    public GatewayMetrics(IMeterFactory meters, Hub hub)
    {
        var meter = meters.Create(ArenaTelemetry.MeterPrefix + "SseGateway");
        meter.CreateObservableGauge("arena.sse.clients", () => hub.Count + Volatile.Read(ref _leaderboardClients), "{client}", "Connected SSE clients");
        Delivered = meter.CreateCounter<long>("arena.sse.events.delivered", "{event}", "Events written to clients");
        Disconnects = meter.CreateCounter<long>("arena.sse.disconnects", "{client}", "Client disconnects, by reason");
        HistoryEvents = meter.CreateCounter<long>("arena.sse.history.events", "{event}", "Events sent from history, by source (persister or redis)");
        foreach (var reason in DisconnectReasons)
        {
            Disconnects.Add(0, new KeyValuePair<string, object?>("reason", reason));
        }
        Refused = meter.CreateCounter<long>("arena.sse.refused", "{request}", "Stream requests refused over a connection limit, by reason (per_client or total)");
        foreach (var reason in ConnectionLimits.Reasons)
        {
            Refused.Add(0, new KeyValuePair<string, object?>("reason", reason));
        }
        HistoryUnavailable = meter.CreateCounter<long>("arena.sse.history.unavailable", "{notice}",
            "Gaps in a run's history announced to a client because the persister could not serve them, by reason");
        foreach (var reason in HistoryGap.Reasons)
        {
            HistoryUnavailable.Add(0, new KeyValuePair<string, object?>("reason", reason));
        }
        LeaderboardFetches = meter.CreateCounter<long>("arena.sse.leaderboard.fetches", "{request}", "Leaderboards fetched from the ranker, shared by every leaderboard-stream client");
        LeaderboardFetches.Add(0);
        Latency = meter.CreateHistogram<double>("arena.sse.delivery.latency", "ms", "From ingest accepting an event to writing it to a live client");
    }

    /// <summary>
    /// The client went away, it fell too far behind (it resumes), the gateway is stopping, or
    /// it could not begin yet (the tail had not joined the stream, or Redis did not answer): an empty 200, and the client retries.
    /// </summary>
    public static readonly string[] DisconnectReasons = ["client", "slow", "closed", "not_ready"];

    public Counter<long> Delivered { get; }
    public Counter<long> Disconnects { get; }
    public Counter<long> HistoryEvents { get; }
    public Counter<long> LeaderboardFetches { get; }
    public Counter<long> Refused { get; }
    public Counter<long> HistoryUnavailable { get; }

    // Leaderboard-stream clients share the feed's one reader of the hub, so they are counted here.
    private int _leaderboardClients;

    /// <summary>Counts a leaderboard-stream client as connected until the returned scope ends.</summary>
    public IDisposable LeaderboardClient()
    {
        Interlocked.Increment(ref _leaderboardClients);
        return new Leaving(this);
    }

    private sealed class Leaving(GatewayMetrics metrics) : IDisposable
    {
        public void Dispose() => Interlocked.Decrement(ref metrics._leaderboardClients);
    }
    public Histogram<double> Latency { get; }
}
