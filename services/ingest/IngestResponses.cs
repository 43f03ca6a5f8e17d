using System.Text.Json;
using System.Text.Json.Serialization;

namespace Arena.Ingest;

public sealed record PublishResult(string EventId, string StreamId, bool Duplicate);

public sealed record AcceptedResponse(IReadOnlyList<PublishResult> Results);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(AcceptedResponse))]
internal sealed partial class IngestJson : JsonSerializerContext;

/// <summary>
/// The <c>202</c> answer: the same bytes and headers as <c>Results.Json</c> would write, serialised
/// in one synchronous pass straight into the response (the source generator's fast path, which the
/// streaming serializer leaves for its slower one once an answer outgrows its buffer).
/// </summary>
internal sealed class AcceptedResult(AcceptedResponse response) : IResult
{
    public Task ExecuteAsync(HttpContext http)
    {
        http.Response.StatusCode = StatusCodes.Status202Accepted;
        http.Response.ContentType = "application/json; charset=utf-8";
        using (var writer = new Utf8JsonWriter(http.Response.BodyWriter))
        {
            JsonSerializer.Serialize(writer, response, IngestJson.Default.AcceptedResponse);
        }
        return http.Response.BodyWriter.FlushAsync(http.RequestAborted).AsTask();
    }
}
