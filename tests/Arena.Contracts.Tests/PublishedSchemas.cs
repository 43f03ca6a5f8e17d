using System.Text.Json.Nodes;
using Json.Schema;

namespace Arena.Contracts.Tests;

/// <summary>The JSON Schema files of <c>schemas/</c> as a producer's validator reads them, with format validation on.</summary>
internal static class PublishedSchemas
{
    public static readonly string Directory = Path.Combine(AppContext.BaseDirectory, "schemas");

    private static readonly Lazy<JsonSchema> Envelope = new(Load);

    // JsonSchema.Net builds a schema's evaluation state lazily and not thread-safely: two test
    // classes evaluating at once made it accept, now and then, a run_id its pattern refuses.
    private static readonly Lock Gate = new();

    public static bool Accept(string json, out string errors)
    {
        EvaluationResults result;
        lock (Gate)
        {
            result = Envelope.Value.Evaluate(JsonNode.Parse(json), new EvaluationOptions
            {
                OutputFormat = OutputFormat.List,
                RequireFormatValidation = true,
            });
        }
        errors = string.Join("; ", result.Details.Where(d => d.HasErrors).SelectMany(d => d.Errors!.Select(e => $"{d.InstanceLocation}: {e.Value}")));
        return result.IsValid;
    }

    private static JsonSchema Load()
    {
        foreach (var file in System.IO.Directory.GetFiles(Path.Combine(Directory, "v1"), "*.schema.json"))
        {
            SchemaRegistry.Global.Register(JsonSchema.FromFile(file));
        }
        var envelope = JsonSchema.FromFile(Path.Combine(Directory, "envelope.schema.json"));
        SchemaRegistry.Global.Register(envelope);
        return envelope;
    }
}
