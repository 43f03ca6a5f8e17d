using System.Text.Json.Serialization;

namespace Arena.Ingest;

public sealed record PublishResult(string EventId, string StreamId, bool Duplicate);

public sealed record AcceptedResponse(IReadOnlyList<PublishResult> Results);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(AcceptedResponse))]
internal sealed partial class IngestJson : JsonSerializerContext;
