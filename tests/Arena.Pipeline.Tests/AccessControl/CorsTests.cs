using System.Net;
using Arena.Pipeline.Tests.Infrastructure;

namespace Arena.Pipeline.Tests.AccessControl;

/// <summary>CORS for the configured origin only: the read APIs for GET, ingest for POST.</summary>
public sealed class CorsTests(ITestOutputHelper output) : PipelineTest(output)
{
    private const string Viewer = "https://viewer.arena.example";
    private const string Stranger = "https://elsewhere.example";

    protected override IDictionary<string, string>? IngestSettings => new Dictionary<string, string>
    {
        ["Arena__ApiKeys"] = "alpha:alpha-key-0042",
        ["Arena__CorsOrigins"] = Viewer,
    };

    private static async Task<HttpResponseMessage> SendAsync(ServiceProcess service, HttpMethod method, string path, string origin,
        string? requestMethod = null, string? requestHeaders = null, string? bearer = null)
    {
        using var request = new HttpRequestMessage(method, path);
        request.Headers.Add("Origin", origin);
        if (requestMethod is not null)
        {
            request.Headers.Add("Access-Control-Request-Method", requestMethod);
        }
        if (requestHeaders is not null)
        {
            request.Headers.Add("Access-Control-Request-Headers", requestHeaders);
        }
        if (bearer is not null)
        {
            request.Headers.Authorization = new("Bearer", bearer);
        }
        return await service.Http.SendAsync(request);
    }

    private static string? AllowedOrigin(HttpResponseMessage response) =>
        response.Headers.TryGetValues("Access-Control-Allow-Origin", out var values) ? string.Join(",", values) : null;

    [Fact]
    public async Task Read_api_allows_the_viewers_origin_only()
    {
        await using var persister = await TestServices.Persister(Redis, DataDir, Output, new Dictionary<string, string>
        {
            ["Arena__CorsOrigins"] = Viewer,
            ["Arena__ReadToken"] = "read-token-1",
        }).WaitReadyAsync();

        using var allowed = await SendAsync(persister, HttpMethod.Get, "/v1/runs", Viewer, bearer: "read-token-1");
        Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
        Assert.Equal(Viewer, AllowedOrigin(allowed));
        using var stranger = await SendAsync(persister, HttpMethod.Get, "/v1/runs", Stranger, bearer: "read-token-1");
        Assert.Null(AllowedOrigin(stranger));

        using var preflight = await SendAsync(persister, HttpMethod.Options, "/v1/runs/run-1/events", Viewer, "GET", "authorization");
        Assert.True(preflight.IsSuccessStatusCode, $"preflight: {(int)preflight.StatusCode}");
        Assert.Equal(Viewer, AllowedOrigin(preflight));
        Assert.Contains("GET", preflight.Headers.GetValues("Access-Control-Allow-Methods"));
        Assert.Contains("authorization", string.Join(",", preflight.Headers.GetValues("Access-Control-Allow-Headers")), StringComparison.OrdinalIgnoreCase);
        using var strangerPreflight = await SendAsync(persister, HttpMethod.Options, "/v1/runs/run-1/events", Stranger, "GET", "authorization");
        Assert.Null(AllowedOrigin(strangerPreflight));
        using var postPreflight = await SendAsync(persister, HttpMethod.Options, "/v1/runs", Viewer, "POST");
        Assert.False(postPreflight.Headers.Contains("Access-Control-Allow-Methods") && postPreflight.Headers.GetValues("Access-Control-Allow-Methods").Contains("POST"));
    }

    [Fact]
    public async Task Ingest_allows_the_viewers_origin_to_post_with_its_headers()
    {
        using var preflight = await SendAsync(Ingest, HttpMethod.Options, "/v1/events", Viewer, "POST", "content-type,authorization");
        Assert.True(preflight.IsSuccessStatusCode, $"preflight: {(int)preflight.StatusCode}");
        Assert.Equal(Viewer, AllowedOrigin(preflight));
        var headers = string.Join(",", preflight.Headers.GetValues("Access-Control-Allow-Headers"));
        Assert.Contains("content-type", headers, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("authorization", headers, StringComparison.OrdinalIgnoreCase);

        using var stranger = await SendAsync(Ingest, HttpMethod.Options, "/v1/events", Stranger, "POST", "content-type,authorization");
        Assert.Null(AllowedOrigin(stranger));
        Assert.Equal(0, await Db.StreamLengthAsync(PipelineState.Stream));
    }

    [Fact]
    public async Task Without_origins_no_cors_header_is_sent()
    {
        await using var persister = await TestServices.Persister(Redis, DataDir, Output).WaitReadyAsync();

        using var get = await SendAsync(persister, HttpMethod.Get, "/v1/runs", Viewer);
        using var preflight = await SendAsync(persister, HttpMethod.Options, "/v1/runs", Viewer, "GET", "authorization");

        Assert.Equal(HttpStatusCode.OK, get.StatusCode);
        Assert.Null(AllowedOrigin(get));
        Assert.Null(AllowedOrigin(preflight));
    }
}
