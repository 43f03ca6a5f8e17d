using System.Runtime.CompilerServices;
using Arena.Contracts;
using Arena.Persister.Storage;

namespace Arena.Persister;

/// <summary>
/// Stored events read from DuckDB a chunk at a time, for responses written as they are read:
/// a request holds about one chunk in memory and a read slot only while a chunk is read, never
/// while a slow client takes it. Each chunk is its own short query after the last position
/// served, so no read transaction stays open for the length of a download.
/// </summary>
public sealed class EventChunks(EventQueries queries, HistoryReads reads)
{
    /// <summary>Envelope characters per chunk (one envelope more at most).</summary>
    public const long ChunkChars = 1 << 20;

    /// <summary>
    /// Rows asked of the first query, before the event sizes are known: DuckDB holds the rows a
    /// query asks for, so this times the largest event is what one read may cost.
    /// </summary>
    private const int FirstChunkRows = 128;

    /// <summary>The most rows one query asks for, however small the events.</summary>
    private const int MaxChunkRows = 4096;

    /// <summary>
    /// Chunks of up to <paramref name="limit"/> events matching <paramref name="filter"/> after
    /// <paramref name="after"/> in the store's order, together up to about <paramref name="maxChars"/>
    /// characters of envelopes. The first chunk, always yielded even when empty, may throw
    /// <see cref="ReadsRefusedException"/>; the rest wait for their turn. Ends with the events,
    /// the limit or the size.
    /// </summary>
    public async IAsyncEnumerable<EventChunk> ReadAsync(EventFilter filter, EventCursor after, long limit, long maxChars,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var rows = FirstChunkRows;
        var largest = 0L;
        var count = 0L;
        var chars = 0L;
        var first = true;
        while (true)
        {
            var from = after;
            var ask = (int)Math.Min(rows, limit - count);
            var budget = Math.Min(ChunkChars, maxChars - chars);
            EventChunk Read() => queries.ReadEvents(filter, from, ask, budget);
            var chunk = first ? await reads.FirstAsync(Read, cancellationToken) : await reads.NextAsync(Read, cancellationToken);
            first = false;
            yield return chunk;

            count += chunk.Rows.Count;
            chars += chunk.Chars;
            if (chunk.Exhausted || chunk.Last is not { } last || count >= limit || chars >= maxChars)
            {
                yield break;
            }
            after = last;
            // Sized by the largest event seen so far, so that one of its size in every row of the
            // next query still fits in about a chunk.
            largest = Math.Max(largest, chunk.Rows.Max(e => (long)e.Envelope.Length));
            rows = (int)Math.Clamp(ChunkChars / largest, 1, MaxChunkRows);
        }
    }

    /// <summary>
    /// Every event matching <paramref name="filter"/> up to the last stream millisecond stored
    /// when the read began, in chunks as <see cref="ReadAsync"/> gives them. Each query also
    /// looks at a window of stream milliseconds only: DuckDB sorts every row a query matches to
    /// keep its first ones, so without one the queries of a long export would each sort all the
    /// rest of the history. The window widens while it holds fewer rows than a chunk and
    /// narrows while it holds more.
    /// </summary>
    public async IAsyncEnumerable<EventChunk> ReadAllAsync(EventFilter filter, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var (first, end, count) = await reads.FirstAsync(() => queries.Span(filter), cancellationToken);
        var rows = FirstChunkRows;
        var largest = 0L;
        var window = Math.Max(1, (end - first + 1) * rows / Math.Max(count, 1));
        var after = EventCursor.After(new StreamId(first - 1, long.MaxValue));
        while (true)
        {
            var from = after;
            var before = Math.Min(from.Id.Milliseconds + window, end + 1);
            var chunk = await reads.NextAsync(() => queries.ReadEvents(filter, from, rows, ChunkChars, before), cancellationToken);
            var full = chunk.Rows.Count == rows || !chunk.Exhausted;
            var done = !full && before > end;
            yield return chunk with { Exhausted = done };
            if (done)
            {
                yield break;
            }
            if (full)
            {
                after = chunk.Last!.Value;
                window = Math.Max(1, window / 2);
                largest = Math.Max(largest, chunk.Rows.Max(e => (long)e.Envelope.Length));
                rows = (int)Math.Clamp(ChunkChars / largest, 1, MaxChunkRows);
            }
            else
            {
                // Everything before the window's end has been read.
                after = EventCursor.After(new StreamId(before - 1, long.MaxValue));
                window *= 2;
            }
        }
    }
}
