using System.Runtime.CompilerServices;
using Arena.Contracts;
using Arena.Persister.Storage;

namespace Arena.Persister;

/// <summary>
/// A run's events read from DuckDB a chunk at a time, for responses written as they are read:
/// a request holds about one chunk in memory and a read slot only while a chunk is read, never
/// while a slow client takes it. Each chunk is its own short query after the last ID served,
/// so no read transaction stays open for the length of a download.
/// </summary>
public sealed class RunEventChunks(EventQueries queries, HistoryReads reads)
{
    /// <summary>Envelope characters per chunk (one envelope more at most).</summary>
    public const long ChunkChars = 1 << 20;

    /// <summary>
    /// Rows asked of the first query, before the run's event sizes are known: DuckDB holds the
    /// rows a query asks for, so this times the largest event is what one read may cost.
    /// </summary>
    private const int FirstChunkRows = 128;

    /// <summary>The most rows one query asks for, however small the events.</summary>
    private const int MaxChunkRows = 1000;

    /// <summary>
    /// Chunks of up to <paramref name="limit"/> events after <paramref name="after"/> in stream
    /// order, together up to about <paramref name="maxChars"/> characters of envelopes. The first
    /// chunk, always yielded even when empty, may throw <see cref="ReadsRefusedException"/>; the
    /// rest wait for their turn. Ends with the run, the limit or the size.
    /// </summary>
    public async IAsyncEnumerable<EventChunk> ReadAsync(string runId, StreamId after, long limit, long maxChars,
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
            EventChunk Read() => queries.ReadRunEvents(runId, from, ask, budget);
            var chunk = first ? await reads.FirstAsync(Read, cancellationToken) : await reads.NextAsync(Read, cancellationToken);
            first = false;
            yield return chunk;

            count += chunk.Envelopes.Count;
            chars += chunk.Chars;
            if (chunk.Exhausted || chunk.Last is not { } last || count >= limit || chars >= maxChars)
            {
                yield break;
            }
            after = last;
            // Sized by the largest event seen so far, so that one of its size in every row of the
            // next query still fits in about a chunk.
            largest = Math.Max(largest, chunk.Envelopes.Max(e => (long)e.Length));
            rows = (int)Math.Clamp(ChunkChars / largest, 1, MaxChunkRows);
        }
    }
}
