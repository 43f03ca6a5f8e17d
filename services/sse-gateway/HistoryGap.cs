using System.Text.Json;
using System.Text.Json.Serialization;
using Arena.Contracts;

namespace Arena.SseGateway;

/// <summary>
/// A range of a run's history below the stream's first entry that the persister could not
/// serve: it is down, failing, or slower than <see cref="GatewayOptions.PersisterTimeout"/>.
/// The client is told in a frame of the gateway's own (<see cref="SseWriter.HistoryUnavailable"/>)
/// and the stream goes on with what Redis holds. The frame has no <c>id:</c>, so a client's
/// last event ID moves past the gap only with an event after it: a client that reconnects
/// before one arrived crosses the gap again and is told again (or, with the persister back,
/// served), and no client moves past a gap without having been told.
/// </summary>
public static class HistoryGap
{
    /// <summary>The <c>reason</c> of the notice and of <c>arena_sse_history_unavailable_total</c>.</summary>
    public static readonly string[] Reasons = ["persister_unreachable", "persister_timeout", "persister_error"];

    /// <summary>Why the persister did not serve, or null when the failure is not the persister's: the client went away.</summary>
    public static string? ReasonFor(Exception e, CancellationToken clientGone) =>
        FailureOf(e, clientGone) is { } failure ? "persister_" + failure : null;

    /// <summary>
    /// How a request to another service failed — <c>unreachable</c>, <c>timeout</c> or <c>error</c> —
    /// or null when the failure is not that service's: the client went away.
    /// </summary>
    public static string? FailureOf(Exception e, CancellationToken clientGone) => e switch
    {
        OperationCanceledException when clientGone.IsCancellationRequested => null,
        // HttpClient.Timeout, set to PersisterTimeout or RankerTimeout.
        OperationCanceledException => "timeout",
        HttpRequestException { StatusCode: null } => "unreachable",
        // An error status, or an answer that is not the document asked for.
        HttpRequestException or JsonException or KeyNotFoundException or InvalidOperationException or FormatException => "error",
        _ => null,
    };

    /// <summary>The run's events after <paramref name="after"/> and before <paramref name="before"/> (both exclusive), if it has any there, are not sent.</summary>
    public static string Frame(string runId, StreamId after, StreamId before, string reason) =>
        SseWriter.Frame(null, SseWriter.HistoryUnavailable,
            JsonSerializer.Serialize(new Notice(runId, after.ToString(), before.ToString(), reason), GapJson.Default.Notice));

    internal sealed record Notice(string RunId, string After, string Before, string Reason);
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(HistoryGap.Notice))]
internal sealed partial class GapJson : JsonSerializerContext;
