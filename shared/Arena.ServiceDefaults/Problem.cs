using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using Arena.Contracts.Validation;
using Microsoft.AspNetCore.Http;

namespace Arena.ServiceDefaults;

/// <summary>An RFC 9457 problem document; <c>errors</c> names each rejected field.</summary>
public sealed record Problem(
    string Type,
    string Title,
    int Status,
    string Detail,
    IReadOnlyList<ValidationError>? Errors = null)
{
    public const string ContentType = "application/problem+json";

    public static Problem Create(int status, string slug, string title, string detail, IReadOnlyList<ValidationError>? errors = null) =>
        new(TypeUri(slug), title, status, detail, errors);

    /// <summary>The <c>type</c> of a problem: a stable URI per kind.</summary>
    public static string TypeUri(string slug) => $"https://arena.dev/problems/{slug}";

    public IResult ToResult() => Results.Json(this, ProblemJson.Relaxed.Problem, ContentType, Status);
}

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(Problem))]
internal sealed partial class ProblemJson : JsonSerializerContext
{
    /// <summary>Leaves quotes and apostrophes in messages readable; responses are never embedded in HTML.</summary>
    public static ProblemJson Relaxed => _relaxed ??= new(new JsonSerializerOptions(Default.Options)
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    });

    private static ProblemJson? _relaxed;
}
