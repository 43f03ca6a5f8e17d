using System.Collections.Concurrent;
using Arena.Contracts;

namespace Arena.Chaos;

/// <summary>An event ingest accepted: which run, and the stream ID a 202 named for it.</summary>
public sealed record AcceptedEvent(string EventId, string RunId, StreamId StreamId, bool Poison);

/// <summary>A poison entry written around ingest, at the stream ID Redis gave it.</summary>
public sealed record RawPoison(StreamId StreamId, string Variant);

/// <summary>
/// What the producers know for certain: every event a 202 named (event_id → stream ID),
/// every event a 400 turned away, the poison written, the duplicates re-sent and what
/// ingest answered to them. The checks compare the pipeline's state against this.
/// </summary>
public sealed class Ledger
{
    private readonly ConcurrentDictionary<string, AcceptedEvent> _accepted = new(StringComparer.Ordinal);
    private long _count;

    public ConcurrentBag<string> Rejected { get; } = [];
    public ConcurrentBag<RawPoison> RawPoison { get; } = [];
    public ConcurrentBag<string> DuplicateMismatches { get; } = [];

    /// <summary>Event IDs whose re-send after a Redis restart was stored again: the original entry was lost with the restart.</summary>
    public ConcurrentBag<AcceptedEvent> LostOnResend { get; } = [];

    public long Accepted => Interlocked.Read(ref _count);
    public long DuplicateRequests;
    public long DuplicateEvents;
    public long RejectedRequests;
    public long RejectedWrongStatus;
    public long Requests;
    public long Retries;
    public long GamesFinished;

    public IEnumerable<AcceptedEvent> AcceptedEvents => _accepted.Values;

    /// <summary>Records what a 202 named; a retried request's answer names the same stream IDs again.</summary>
    public void Accept(string eventId, string runId, StreamId streamId, bool poison = false)
    {
        if (_accepted.TryAdd(eventId, new AcceptedEvent(eventId, runId, streamId, poison)))
        {
            Interlocked.Increment(ref _count);
        }
    }

    public bool TryGet(string eventId, out AcceptedEvent accepted) => _accepted.TryGetValue(eventId, out accepted!);

    /// <summary>The event's entry was lost with a Redis restart and stored again at <paramref name="streamId"/> by a re-send.</summary>
    public void Replace(AcceptedEvent lost, StreamId streamId)
    {
        LostOnResend.Add(lost);
        _accepted[lost.EventId] = lost with { StreamId = streamId };
    }
}
