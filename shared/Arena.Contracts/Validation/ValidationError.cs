namespace Arena.Contracts.Validation;

/// <summary>One reason an event was rejected: which event of the request, which field, and why.</summary>
/// <param name="Index">Position of the event in the request (0 for a single envelope).</param>
/// <param name="Field">JSON path inside the event, e.g. <c>payload.results[1].rank</c>; empty for the event itself.</param>
public sealed record ValidationError(int Index, string Field, string Message);
