using Arena.Contracts;

namespace Arena.Persister.Storage;

/// <summary>
/// Consecutive events of a run as the history API serves them, read in one go: <see cref="Last"/>
/// is the stream ID of the last, <see cref="Chars"/> the envelopes' length, <see cref="Exhausted"/>
/// whether the run had nothing more after them when they were read.
/// </summary>
public sealed record EventChunk(IReadOnlyList<string> Envelopes, StreamId? Last, long Chars, bool Exhausted);
