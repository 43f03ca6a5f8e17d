namespace Arena.Persister.Storage;

/// <summary>
/// Consecutive stored events as the history API serves them, read in one go: <see cref="Last"/>
/// is the position of the last, <see cref="Chars"/> the stored envelopes' length,
/// <see cref="Exhausted"/> whether nothing more matched after them when they were read.
/// </summary>
public sealed record EventChunk(IReadOnlyList<EventRow> Rows, EventCursor? Last, long Chars, bool Exhausted);
