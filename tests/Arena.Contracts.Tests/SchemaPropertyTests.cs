using System.Text.Json;
using Arena.Contracts.Tests.Generated;
using Arena.Contracts.Validation;
using CsCheck;
using Xunit.Abstractions;

namespace Arena.Contracts.Tests;

/// <summary>
/// Ingest's validation and the published JSON Schema judge thousands of generated events —
/// valid ones built from the v1 payload shapes and mutations of them — and must both give
/// each the verdict its generator knows: accepted, refused, or (for the rules JSON Schema
/// cannot state) refused by ingest while the schema accepts.
/// </summary>
public sealed class SchemaPropertyTests(ITestOutputHelper output)
{
    private const ulong Seed = 20261123;
    private const int Cases = 4000;

    [Fact]
    public void Ingest_validation_and_the_published_schema_agree_on_generated_events()
    {
        var random = new PCG(1, Seed);
        var generator = new EventCaseGen();
        var verdicts = new Dictionary<Verdict, int>();
        var wrong = new List<string>();
        for (var i = 0; i < Cases; i++)
        {
            var generated = generator.Generate(random, null, out _);
            verdicts[generated.Expected] = verdicts.GetValueOrDefault(generated.Expected) + 1;

            var errors = new List<ValidationError>();
            using var json = JsonDocument.Parse(generated.Json);
            var ingestAccepts = EnvelopeValidator.Validate(json.RootElement, 0, errors) is not null;
            var schemaAccepts = PublishedSchemas.Accept(generated.Json, out var schemaErrors);

            var (ingestShould, schemaShould) = generated.Expected switch
            {
                Verdict.Valid => (true, true),
                Verdict.Invalid => (false, false),
                _ => (false, true),
            };
            if (ingestAccepts != ingestShould || schemaAccepts != schemaShould)
            {
                var judged = ingestAccepts == schemaAccepts ? "both judges agree, against the expected verdict" : "the judges disagree";
                wrong.Add($"case {i + 1}, {judged}: {generated}\n" +
                    $"    ingest {(ingestAccepts ? "accepts" : "refuses: " + string.Join("; ", errors.Select(e => $"{e.Field} {e.Message}")))}\n" +
                    $"    schema {(schemaAccepts ? "accepts" : "refuses: " + schemaErrors)}");
            }
        }

        output.WriteLine($"{Cases} cases from seed {Seed}: " + string.Join(", ", verdicts.OrderBy(v => v.Key).Select(v => $"{v.Value} {v.Key}")));
        Assert.All(Enum.GetValues<Verdict>(), v => Assert.True(verdicts.GetValueOrDefault(v) >= Cases / 20, $"too few {v} cases"));
        Assert.True(wrong.Count == 0, $"{wrong.Count} of {Cases} cases (seed {Seed}) judged wrongly:\n{string.Join("\n", wrong.Take(25))}");
    }
}
