using System.Collections.Frozen;
using Arena.Security;
using Arena.ServiceDefaults;

namespace Arena.Ingest;

/// <summary>
/// The JSON Schemas of <c>schemas/</c>, built into ingest and served where their <c>$id</c>s
/// point (<c>/schemas/envelope.schema.json</c>, <c>/schemas/v1/&lt;type&gt;.schema.json</c>), so a
/// producer can fetch what ingest validates against from ingest itself.
/// </summary>
public static class SchemaEndpoints
{
    public const string ContentType = "application/schema+json";

    private const string Prefix = "schemas/";

    private static readonly FrozenDictionary<string, byte[]> Schemas = Load();

    public static void MapSchemas(this WebApplication app)
    {
        app.MapGet("/schemas/{**path}", (string path) => Schemas.TryGetValue(path, out var schema)
                ? Results.Bytes(schema, ContentType)
                : Problem.Create(StatusCodes.Status404NotFound, "unknown-schema", "Unknown schema",
                    $"No schema at /schemas/{path}; the schemas are {string.Join(", ", Schemas.Keys.Order(StringComparer.Ordinal).Select(k => "/schemas/" + k))}").ToResult())
            .WithName("GetSchema")
            .WithSummary("A JSON Schema of the event contract, at the URL of its $id")
            .Produces(StatusCodes.Status200OK, contentType: ContentType)
            .Produces<Problem>(StatusCodes.Status404NotFound, Problem.ContentType)
            .RequireCors(ArenaCors.Read);
    }

    private static FrozenDictionary<string, byte[]> Load()
    {
        var assembly = typeof(SchemaEndpoints).Assembly;
        return assembly.GetManifestResourceNames()
            .Where(name => name.StartsWith(Prefix, StringComparison.Ordinal))
            .ToFrozenDictionary(name => name[Prefix.Length..], name =>
            {
                using var stream = assembly.GetManifestResourceStream(name)!;
                using var copy = new MemoryStream();
                stream.CopyTo(copy);
                return copy.ToArray();
            }, StringComparer.Ordinal);
    }
}
