using System.Text.Json;
using Arena.Contracts.Validation;

namespace Arena.Contracts.Tests;

/// <summary>
/// The C# validation and the published JSON Schema files must agree on every example of
/// the shared corpus (schemas/corpus.json), and the C# validation must name the field.
/// </summary>
public sealed class SchemaAgreementTests
{
    private static readonly JsonDocument Corpus = JsonDocument.Parse(File.ReadAllText(Path.Combine(PublishedSchemas.Directory, "corpus.json")));

    public static TheoryData<string> ValidNames() => Names("valid");

    public static TheoryData<string> InvalidNames() => Names("invalid");

    [Theory]
    [MemberData(nameof(ValidNames))]
    public void Valid_example_is_accepted_by_validation_and_schema(string name)
    {
        var example = Example("valid", name);
        var errors = new List<ValidationError>();

        var accepted = EnvelopeValidator.Validate(example.GetProperty("event"), 0, errors);

        Assert.True(accepted is not null, $"C# rejected '{name}': {string.Join("; ", errors)}");
        Assert.True(SchemaAccepts(example.GetProperty("event"), out var schemaErrors), $"schema rejected '{name}': {schemaErrors}");
    }

    [Theory]
    [MemberData(nameof(InvalidNames))]
    public void Invalid_example_is_rejected_by_validation_and_schema_with_its_field(string name)
    {
        var example = Example("invalid", name);
        var errors = new List<ValidationError>();

        var accepted = EnvelopeValidator.Validate(example.GetProperty("event"), 3, errors);

        Assert.Null(accepted);
        var field = example.GetProperty("field").GetString();
        Assert.Contains(errors, e => e.Field == field && e.Index == 3 && e.Message.Length > 0);
        if (example.TryGetProperty("beyond_schema", out var why))
        {
            // A rule JSON Schema cannot state: the example documents the gap, and must stop claiming it once the schema closes it.
            Assert.True(SchemaAccepts(example.GetProperty("event"), out var schemaErrors), $"schema rejects '{name}', marked beyond_schema ({why}): {schemaErrors}");
        }
        else
        {
            Assert.False(SchemaAccepts(example.GetProperty("event"), out _), $"schema accepted '{name}'");
        }
    }

    [Fact]
    public void Schema_states_the_timestamp_grammar_the_code_parses()
    {
        var ts = Schema("envelope.schema.json").GetProperty("properties").GetProperty("ts");

        Assert.Equal(Rfc3339.Pattern, ts.GetProperty("pattern").GetString());
    }

    [Fact]
    public void Corpus_covers_every_v1_type_both_ways()
    {
        string[] types = [EventTypes.GameStart, EventTypes.TurnStart, EventTypes.Observation, EventTypes.LlmResponse, EventTypes.Action, EventTypes.GameEnd, EventTypes.Error];
        foreach (var kind in new[] { "valid", "invalid" })
        {
            var seen = Corpus.RootElement.GetProperty(kind).EnumerateArray()
                .Select(e => e.GetProperty("event"))
                .Where(e => e.ValueKind == JsonValueKind.Object && e.TryGetProperty("type", out _))
                .Select(e => e.GetProperty("type").GetString())
                .ToHashSet();
            Assert.All(types, t => Assert.Contains(t, seen));
        }
    }

    private static bool SchemaAccepts(JsonElement instance, out string errors) => PublishedSchemas.Accept(instance.GetRawText(), out errors);

    [Fact]
    public void Schema_reserves_the_names_the_code_reserves()
    {
        var properties = Schema("envelope.schema.json").GetProperty("properties");

        Assert.Equal(EventTypes.EmittedByPipeline, properties.GetProperty("type").GetProperty("not").GetProperty("enum").EnumerateArray().Select(t => t.GetString()));
        Assert.Equal(PipelineRun.Id, properties.GetProperty("run_id").GetProperty("not").GetProperty("const").GetString());
        Assert.Equal(JsonValueKind.Object, properties.GetProperty(CanonicalEnvelope.StreamIdField).GetProperty("not").ValueKind);
        Assert.Equal(JsonValueKind.Object, properties.GetProperty(CanonicalEnvelope.ProducerField).GetProperty("not").ValueKind);
    }

    private static JsonElement Schema(string file) =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(PublishedSchemas.Directory, file))).RootElement;

    private static JsonElement Example(string kind, string name) =>
        Corpus.RootElement.GetProperty(kind).EnumerateArray().Single(e => e.GetProperty("name").GetString() == name);

    private static TheoryData<string> Names(string kind) =>
        [.. Corpus.RootElement.GetProperty(kind).EnumerateArray().Select(e => e.GetProperty("name").GetString()!)];
}
