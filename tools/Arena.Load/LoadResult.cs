using System.Text.Json.Serialization;

namespace Arena.Load;

/// <summary>What a load run measured. Times in seconds or milliseconds as named; rates per second.</summary>
public sealed record LoadResult
{
    public required string RunPrefix { get; init; }
    /// <summary>Target events/s, or null when sending flat out.</summary>
    public required double? TargetRate { get; init; }
    public required int Batch { get; init; }
    public required int Runs { get; init; }
    public required int Connections { get; init; }
    /// <summary>Mean request body bytes per event sent.</summary>
    public required double EventBytes { get; init; }
    /// <summary>From the first send to the last response.</summary>
    public required double DurationSeconds { get; init; }
    public required long Requests { get; init; }
    public required long EventsSent { get; init; }
    public required long EventsAccepted { get; init; }
    public required double AcceptedPerSecond { get; init; }
    /// <summary>Requests not answered 202: responses with another status, and transport failures.</summary>
    public required long FailedRequests { get; init; }
    /// <summary>Failed requests by HTTP status (<c>"429"</c>, …) or <c>"transport"</c> (connection failure or timeout).</summary>
    public required IReadOnlyDictionary<string, long> Failures { get; init; }
    /// <summary>Send → response fully read, of the accepted (202) requests.</summary>
    public required LatencySummary RequestLatency { get; init; }
    /// <summary>Like <see cref="RequestLatency"/> but from each batch's due time (paced runs only): includes any wait for a free connection.</summary>
    public LatencySummary? ScheduledLatency { get; init; }
    public SseResult? Sse { get; init; }
    public CommitLagResult? Persister { get; init; }
    /// <summary>True when the run was stopped before its end.</summary>
    public bool Cancelled { get; init; }
}

/// <summary>Ingest → SSE delivery, per delivered event: receive time minus the ms part of its stream ID.</summary>
public sealed record SseResult
{
    public required int Clients { get; init; }
    public required int Connected { get; init; }
    /// <summary>Events received over all clients.</summary>
    public required long Delivered { get; init; }
    /// <summary>Events the connected clients should have received: for each, the accepted events of its run.</summary>
    public required long Expected { get; init; }
    /// <summary>Deliveries over the time from the first send to the last delivery.</summary>
    public required double DeliveriesPerSecond { get; init; }
    /// <summary>Stream IDs carry whole milliseconds, so figures read up to 1 ms high (0.5 ms on average).</summary>
    public required LatencySummary Latency { get; init; }
    /// <summary>Streams that ended or failed and were resumed with <c>Last-Event-ID</c>.</summary>
    public required long Reconnects { get; init; }
    public required long Errors { get; init; }
}

/// <summary>Ingest → commit lag seen by polling the persister's committed high-water marks.</summary>
public sealed record CommitLagResult
{
    public required double ThresholdMs { get; init; }
    /// <summary>Max lag over the samples stayed at or under the threshold, and every accepted event became visible.</summary>
    public required bool UnderThreshold { get; init; }
    public required double MaxLagMs { get; init; }
    public required double P99LagMs { get; init; }
    public required double P50LagMs { get; init; }
    /// <summary>Lag samples, one per successful poll (during sending and until caught up).</summary>
    public required int Samples { get; init; }
    /// <summary>Requests made to the persister, one a poll (<c>GET /v1/committed</c>).</summary>
    public required long Requests { get; init; }
    public required long PollErrors { get; init; }
    /// <summary>Mean time of one successful poll.</summary>
    public required double MeanPollMs { get; init; }
    /// <summary>Every accepted event was committed before the drain timeout.</summary>
    public required bool CaughtUp { get; init; }
    /// <summary>From the end of sending until every accepted event was committed (null when it did not happen).</summary>
    public double? CatchUpSeconds { get; init; }
    /// <summary>Accepted events the persister had committed at the last poll.</summary>
    public required long Visible { get; init; }
}

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    WriteIndented = true)]
[JsonSerializable(typeof(LoadResult))]
public sealed partial class LoadJson : JsonSerializerContext;
