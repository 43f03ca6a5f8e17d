using Arena.Contracts;

namespace Arena.Persister.Storage;

/// <summary>
/// One run as <c>GET /v1/runs</c> lists it, with what its order and status come from:
/// the latest <c>ingested_at</c>, whether a <c>game_end</c> and whether a fatal error was stored.
/// Timestamps are UTC and whole microseconds, as the file keeps them.
/// </summary>
public sealed record RunSummary(string RunId, long Events, DateTimeOffset FirstTs, DateTimeOffset LastTs, DateTimeOffset LastIngestedAt, bool Finished, bool Failed)
{
    /// <summary>
    /// The SQL that says whether an event is a fatal error: an <c>error</c> whose
    /// <c>payload.fatal</c> reads as <c>true</c>. The one statement of the rule, for the
    /// summary of a whole file and for each batch's new errors alike.
    /// </summary>
    public static string IsFatalError(string type, string envelope) =>
        $"{type} = '{EventTypes.Error}' AND json_extract_string({envelope}, '$.payload.fatal') = 'true'";

    /// <summary>A game_end wins over a fatal error.</summary>
    public string Status => Finished ? "finished" : Failed ? "failed" : "running";

    /// <summary>This run with events stored later (or in another order) folded in.</summary>
    public RunSummary Merge(RunSummary more) => new(
        RunId,
        Events + more.Events,
        Min(FirstTs, more.FirstTs),
        Max(LastTs, more.LastTs),
        Max(LastIngestedAt, more.LastIngestedAt),
        Finished || more.Finished,
        Failed || more.Failed);

    /// <summary>A timestamp as a <c>TIMESTAMPTZ</c> column stores it: UTC, sub-microsecond ticks dropped.</summary>
    public static DateTimeOffset AsStored(DateTimeOffset value) => new(value.UtcTicks - value.UtcTicks % TimeSpan.TicksPerMicrosecond, TimeSpan.Zero);

    private static DateTimeOffset Min(DateTimeOffset a, DateTimeOffset b) => a <= b ? a : b;

    private static DateTimeOffset Max(DateTimeOffset a, DateTimeOffset b) => a >= b ? a : b;
}
