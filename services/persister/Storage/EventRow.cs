using Arena.Contracts;

namespace Arena.Persister.Storage;

/// <summary>One stored event as the history API and the exports serve it; times are UTC.</summary>
public sealed record EventRow(
    int Partition,
    StreamId StreamId,
    string EventId,
    string RunId,
    long Seq,
    string Type,
    int SchemaVersion,
    DateTimeOffset Ts,
    DateTimeOffset IngestedAt,
    string Envelope,
    string? Producer)
{
    /// <summary>The envelope as the history API serves it: with its <c>stream_id</c> and <c>producer</c>.</summary>
    public string ServedEnvelope() => CanonicalEnvelope.WithStreamId(Envelope, StreamId.ToString(), Producer);
}
