using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using Arena.Pipeline.Tests.Infrastructure;

namespace Arena.Pipeline.Tests;

/// <summary>
/// What every service says about its API: an OpenAPI document that agrees with docs/api.md,
/// problem documents for requests no endpoint answers, the schemas at their <c>$id</c>s, and
/// bad settings that stop the service with the variable to fix.
/// </summary>
public sealed partial class ServiceApiTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly string _dataDir = Repo.NewTempDir("api");
    private RedisServer _redis = null!;

    public async Task InitializeAsync() => _redis = await RedisServer.StartAsync(output);

    public async Task DisposeAsync()
    {
        await _redis.DisposeAsync();
        Directory.Delete(_dataDir, recursive: true);
    }

    private ServiceProcess Start(string service, IDictionary<string, string>? settings = null) => service switch
    {
        "ingest" => TestServices.Ingest(_redis, output, settings),
        "persister" => TestServices.Persister(_redis, _dataDir, output, settings),
        "ranker" => TestServices.Ranker(_redis, _dataDir, output, settings),
        _ => TestServices.Gateway(_redis, output, settings: settings),
    };

    [Theory]
    [InlineData("ingest", "POST /v1/events", "GET /schemas/{}")]
    [InlineData("persister", "GET /v1/runs", "GET /v1/runs/{}/events", "GET /v1/runs/{}/export", "GET /v1/export", "GET /v1/committed")]
    [InlineData("ranker", "GET /v1/leaderboard", "GET /v1/leaderboards", "GET /v1/leaderboard/head-to-head", "GET /v1/leaderboard/history", "GET /v1/models/{}")]
    [InlineData("sse-gateway", "GET /v1/runs", "GET /v1/runs/{}/stream", "GET /v1/runs/{}/replay", "GET /v1/stream", "GET /v1/leaderboard/stream",
        "GET /v1/leaderboards", "GET /v1/leaderboard", "GET /v1/leaderboard/history", "GET /v1/leaderboard/head-to-head")]
    public async Task Each_service_serves_an_openapi_document_of_its_endpoints_that_docs_api_md_describes(string service, params string[] expected)
    {
        await using var process = await Start(service).WaitReadyAsync();

        using var response = await process.Http.GetAsync("/openapi/v1.json");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.StartsWith("3.", document.RootElement.GetProperty("openapi").GetString(), StringComparison.Ordinal);
        Assert.Equal($"Arena {service}", document.RootElement.GetProperty("info").GetProperty("title").GetString());

        var operations = document.RootElement.GetProperty("paths").EnumerateObject()
            .SelectMany(path => path.Value.EnumerateObject().Select(op => $"{op.Name.ToUpperInvariant()} {Parameters().Replace(path.Name, "{}")}"))
            .Order(StringComparer.Ordinal).ToList();
        Assert.Equal(expected.Order(StringComparer.Ordinal), operations);

        var docs = Parameters().Replace(File.ReadAllText(Path.Combine(Repo.Root, "docs", "api.md")), "{}");
        foreach (var operation in operations)
        {
            var (method, path) = (operation.Split(' ')[0], operation.Split(' ')[1]);
            Assert.True(docs.Split('\n').Any(line => line.Contains(method + " ", StringComparison.Ordinal) && line.Contains(path, StringComparison.Ordinal)),
                $"docs/api.md does not describe {operation}");
        }
    }

    [Theory]
    [InlineData("ingest", "/v1/events")]
    [InlineData("persister", "/v1/runs")]
    [InlineData("ranker", "/v1/leaderboard")]
    [InlineData("sse-gateway", "/v1/stream")]
    public async Task Requests_no_endpoint_answers_get_problem_documents(string service, string getOnlyOrPostOnly)
    {
        await using var process = await Start(service).WaitReadyAsync();

        using var missing = await process.Http.GetAsync("/v1/no-such-thing");
        await AssertProblemAsync(missing, HttpStatusCode.NotFound, "not-found");

        var wrongMethod = service == "ingest" ? HttpMethod.Get : HttpMethod.Delete;
        using var notAllowed = await process.Http.SendAsync(new HttpRequestMessage(wrongMethod, getOnlyOrPostOnly));
        await AssertProblemAsync(notAllowed, HttpStatusCode.MethodNotAllowed, "method-not-allowed");
    }

    private static async Task AssertProblemAsync(HttpResponseMessage response, HttpStatusCode status, string slug)
    {
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal($"https://arena.dev/problems/{slug}", problem.RootElement.GetProperty("type").GetString());
        Assert.Equal((int)status, problem.RootElement.GetProperty("status").GetInt32());
        Assert.False(string.IsNullOrEmpty(problem.RootElement.GetProperty("detail").GetString()));
    }

    [Fact]
    public async Task Ingest_serves_every_schema_at_the_url_of_its_id()
    {
        await using var ingest = await Start("ingest").WaitReadyAsync();
        var files = Directory.GetFiles(Path.Combine(Repo.Root, "schemas"), "*.schema.json", SearchOption.AllDirectories);
        Assert.Equal(8, files.Length);

        foreach (var file in files)
        {
            var bytes = await File.ReadAllBytesAsync(file);
            using var schema = JsonDocument.Parse(bytes);
            var id = new Uri(schema.RootElement.GetProperty("$id").GetString()!);
            using var response = await ingest.Http.GetAsync(id.AbsolutePath);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("application/schema+json", response.Content.Headers.ContentType?.MediaType);
            Assert.Equal(bytes, await response.Content.ReadAsByteArrayAsync());
        }

        using var unknown = await ingest.Http.GetAsync("/schemas/v1/no_such_type.schema.json");
        await AssertProblemAsync(unknown, HttpStatusCode.NotFound, "unknown-schema");
    }

    [Theory]
    [InlineData("ingest", "Ingest__MaxEvents", "many", "Ingest__MaxEvents must be a whole number")]
    [InlineData("ingest", "Ingest__MaxEvents", "0", "Ingest__MaxEvents: The field MaxEvents must be between")]
    [InlineData("ingest", "Arena__Partitions", "two", "Arena__Partitions must be a whole number")]
    [InlineData("persister", "Persister__BatchSize", "1x", "Persister__BatchSize must be a whole number")]
    [InlineData("persister", "Persister__SnapshotInterval", "00:00:00.010", "Persister__SnapshotInterval: SnapshotInterval must be 0 (no snapshots) or from 00:00:00.100")]
    [InlineData("persister", "Persister__RetainAtMost", "5", "Persister__RetainAtMost, Persister__RetainCount: RetainAtMost (5) must be 0 (no limit by count) or at least RetainCount (10000)")]
    [InlineData("ranker", "Ranker__RecomputeDebounce", "soon", "Ranker__RecomputeDebounce must be a duration")]
    [InlineData("sse-gateway", "SseGateway__IdlePoll", "often", "SseGateway__IdlePoll must be a duration")]
    public async Task A_bad_setting_exits_2_naming_the_variable_without_a_stack_trace(string service, string variable, string value, string message)
    {
        await using var process = Start(service, new Dictionary<string, string> { [variable] = value });

        Assert.Equal(2, await process.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        Assert.Contains(message, process.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", process.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled exception", process.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bad_settings_of_several_sections_are_named_together_in_one_line()
    {
        await using var ingest = Start("ingest", new Dictionary<string, string> { ["Arena__Partitions"] = "0", ["Ingest__MaxEvents"] = "many" });

        Assert.Equal(2, await ingest.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        var line = Assert.Single(ingest.Lines, l => l.Contains("Invalid configuration", StringComparison.Ordinal));
        Assert.Contains("Arena__Partitions: The field Partitions must be between", line, StringComparison.Ordinal);
        Assert.Contains("Ingest__MaxEvents must be a whole number", line, StringComparison.Ordinal);
    }

    [GeneratedRegex(@"\{[^}/]*\}")]
    private static partial Regex Parameters();
}
