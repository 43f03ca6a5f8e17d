namespace Arena.Contracts.Tests.Generated;

/// <summary>What ingest and the published JSON Schema must both say about a generated event.</summary>
internal enum Verdict
{
    Valid,
    Invalid,

    /// <summary>
    /// Breaks only a rule JSON Schema cannot state (see the <c>$comment</c> of
    /// envelope.schema.json): the schema accepts the event, ingest refuses it.
    /// </summary>
    InvalidBeyondSchema,
}

/// <summary>A generated event, what was done to it, and the verdict that follows.</summary>
internal sealed record EventCase(string What, string Json, Verdict Expected)
{
    public override string ToString() => $"{What} ({Expected}): {(Json.Length <= 400 ? Json : Json[..400] + "…")}";
}
