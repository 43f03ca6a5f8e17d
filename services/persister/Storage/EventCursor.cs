using System.Globalization;
using Arena.Contracts;

namespace Arena.Persister.Storage;

/// <summary>
/// A position in the store's order: stream ID (milliseconds, then sequence, numerically), then
/// partition, since every partition has a stream of its own and the same IDs may occur in two.
/// </summary>
public readonly record struct EventCursor(StreamId Id, int Partition)
{
    /// <summary>Right after <paramref name="id"/> in every partition.</summary>
    public static EventCursor After(StreamId id) => new(id, int.MaxValue);

    /// <summary>
    /// The condition that a row comes after this position. Its first term is implied by the
    /// rest; said on its own it lets DuckDB skip the row groups before the position by their
    /// minimum and maximum, which it cannot do through the OR.
    /// </summary>
    public string Sql() => string.Create(CultureInfo.InvariantCulture,
        $"stream_ms >= {Id.Milliseconds} AND (stream_ms > {Id.Milliseconds} OR (stream_ms = {Id.Milliseconds} AND (stream_seq > {Id.Sequence} OR (stream_seq = {Id.Sequence} AND stream_partition > {Partition}))))");
}
