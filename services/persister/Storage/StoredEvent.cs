using System.Text;
using Arena.Contracts;

namespace Arena.Persister.Storage;

/// <summary>
/// One stream entry as it becomes a row; the key is (partition, stream ID). <see cref="Envelope"/> is
/// the envelope's JSON as the entry holds it (UTF-8). <see cref="Producer"/> is null while ingest is open.
/// </summary>
public sealed record StoredEvent(
    int Partition,
    StreamId StreamId,
    EnvelopeHeader Header,
    DateTimeOffset IngestedAt,
    byte[] Envelope,
    string? Producer)
{
    /// <summary>The envelope as text, as it is stored.</summary>
    public string EnvelopeText() => Encoding.UTF8.GetString(Envelope);
}
