using Arena.Contracts;

namespace Arena.Persister.Storage;

/// <summary>One stream entry as it becomes a row; the key is (partition, stream ID). <see cref="Producer"/> is null while ingest is open.</summary>
public sealed record StoredEvent(
    int Partition,
    StreamId StreamId,
    EnvelopeHeader Header,
    DateTimeOffset IngestedAt,
    string Envelope,
    string? Producer);
