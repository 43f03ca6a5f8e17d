using System.IO.Compression;
using System.Net;
using System.Text;
using Arena.Pipeline.Tests.Infrastructure;

namespace Arena.Pipeline.Tests.HostileInput;

/// <summary>
/// Guarantee 9 for <c>POST /v1/events</c>, against a real ingest process with its default
/// limits and an API key: generated hostile requests each get the 4xx problem document the
/// contract gives them, write nothing to Redis, and leave ingest healthy and accepting.
/// </summary>
public sealed class IngestHostileInputTests(ITestOutputHelper output) : PipelineTest(output)
{
    protected override IDictionary<string, string>? IngestSettings => new Dictionary<string, string> { ["Arena__ApiKeys"] = HostileRequests.ApiKey };

    private static readonly string ValidEvent = Events.TurnStart("fuzz-ok", 1, "fuzz-ok:1");

    [Fact]
    public async Task Every_hostile_request_gets_its_4xx_problem_writes_nothing_and_ingest_stays_healthy()
    {
        await Fuzz.CheckAsync(HostileRequests.Any, Fuzz.Cases(300), async request =>
        {
            var before = await Keyspace.ReadAsync(Db);
            using var response = await SendAsync(request);

            await Fuzz.AssertProblemAsync(response, request.Status, request.ToString());
            Assert.Equal(before, await Keyspace.ReadAsync(Db));
        }, Output);

        await AssertHealthyAndAcceptingAsync();
    }

    [Fact]
    public async Task Unpaired_surrogate_escape_is_a_400_naming_the_field_not_a_500()
    {
        var inPayload = ValidEvent.Replace("\"p1\"", "\"p\\ud800\"", StringComparison.Ordinal);
        var inRunId = Events.TurnStart("run-\\udfff", 1);

        foreach (var (body, field) in new[] { (inPayload, "payload.player_id"), (inRunId, "run_id") })
        {
            using var response = await Events.PostAsync(Ingest.Http, body, apiKey: HostileRequests.ApiKey);
            var problem = await Fuzz.AssertProblemAsync(response, 400, body);
            var error = Assert.Single(problem.GetProperty("errors").EnumerateArray());
            Assert.Equal(field, error.GetProperty("field").GetString());
            Assert.Contains("unpaired UTF-16 surrogate", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        }
        Assert.Equal(new Keyspace(0, 0, null), await Keyspace.ReadAsync(Db));
    }

    [Fact]
    public async Task Content_encoding_it_does_not_decode_is_a_415_not_read_as_plain_json()
    {
        var plain = Encoding.UTF8.GetBytes(ValidEvent);
        using var compressed = new MemoryStream();
        await using (var gzip = new GZipStream(compressed, CompressionLevel.Fastest, leaveOpen: true))
        {
            await gzip.WriteAsync(plain);
        }

        foreach (var (body, coding) in new[] { (plain, "gzip"), (compressed.ToArray(), "gzip"), (plain, "br") })
        {
            using var response = await SendAsync(new HostileRequest("encoded", body, "application/json",
                [("X-Api-Key", HostileRequests.ApiKey), ("Content-Encoding", coding)], false, 415));
            var problem = await Fuzz.AssertProblemAsync(response, 415, coding);
            Assert.Contains($"Content-Encoding '{coding}'", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        }
        Assert.Equal(new Keyspace(0, 0, null), await Keyspace.ReadAsync(Db));
    }

    [Fact]
    public async Task Body_shorter_than_its_content_length_is_a_408_problem_not_an_unhandled_error()
    {
        var body = Encoding.UTF8.GetBytes(ValidEvent);

        // The connection stays open: the server waits for the missing bytes until its minimum data rate gives up (after 2 s).
        var response = await RawHttp.SendAsync(Ingest.Port, Head(body.Length + 50), body, TimeSpan.FromSeconds(30));

        Assert.Equal(408, response.Status);
        var problem = Fuzz.AssertProblem(Media(response.ContentType), response.Body, 408, "a short body");
        Assert.Contains("too slowly", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(new Keyspace(0, 0, null), await Keyspace.ReadAsync(Db));
    }

    [Fact]
    public async Task Malformed_chunked_body_is_a_400_problem_not_an_unhandled_error()
    {
        var body = Encoding.UTF8.GetBytes($"zz\r\n{ValidEvent}\r\n0\r\n\r\n");

        var response = await RawHttp.SendAsync(Ingest.Port, Head(null) + "Transfer-Encoding: chunked\n", body, TimeSpan.FromSeconds(30));

        var problem = Fuzz.AssertProblem(Media(response.ContentType), response.Body, 400, "a bad chunk");
        Assert.Equal(400, response.Status);
        Assert.Contains("could not be read", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(new Keyspace(0, 0, null), await Keyspace.ReadAsync(Db));
    }

    [Fact]
    public async Task Broken_framing_is_refused_with_a_400_and_writes_nothing()
    {
        // A body longer than its Content-Length is cut there: what is read is not JSON.
        await Fuzz.CheckAsync(HostileRequests.BodyBeyondContentLength, Math.Max(1, Fuzz.Cases(300) / 10), async cut =>
        {
            var response = await RawHttp.SendAsync(Ingest.Port, Head(cut.ContentLength), cut.Body, TimeSpan.FromSeconds(30));
            Assert.Equal(400, response.Status);
            Fuzz.AssertProblem(Media(response.ContentType), response.Body, 400, $"Content-Length {cut.ContentLength} of {cut.Body.Length} bytes");
        }, Output);

        // Framing the server cannot parse at all is refused before ingest sees the request: a plain 400.
        var body = Encoding.UTF8.GetBytes(ValidEvent);
        foreach (var length in new[] { "abc", "-5", "99999999999999999999", $"{body.Length}, 3" })
        {
            var refused = await RawHttp.SendAsync(Ingest.Port, Head(null) + $"Content-Length: {length}\n", body, TimeSpan.FromSeconds(30));
            Assert.True(refused.Status == 400, $"Content-Length: {length} got {refused.Status}");
        }
        Assert.Equal(new Keyspace(0, 0, null), await Keyspace.ReadAsync(Db));
        await AssertHealthyAndAcceptingAsync();
    }

    private static string Head(int? contentLength) =>
        $"POST /v1/events HTTP/1.1\nHost: 127.0.0.1\nX-Api-Key: {HostileRequests.ApiKey}\nContent-Type: application/json\n"
        + (contentLength is { } length ? $"Content-Length: {length}\n" : "");

    private static System.Net.Http.Headers.MediaTypeHeaderValue? Media(string? contentType) =>
        contentType is null ? null : System.Net.Http.Headers.MediaTypeHeaderValue.Parse(contentType);

    private Task<HttpResponseMessage> SendAsync(HostileRequest hostile)
    {
        HttpContent content = hostile.Chunked ? new ChunkedContent(hostile.Body) : new ByteArrayContent(hostile.Body);
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/events") { Content = content };
        if (hostile.ContentType is not null)
        {
            content.Headers.TryAddWithoutValidation("Content-Type", hostile.ContentType);
        }
        foreach (var (name, value) in hostile.Headers)
        {
            _ = name == "Content-Encoding" ? content.Headers.TryAddWithoutValidation(name, value) : request.Headers.TryAddWithoutValidation(name, value);
        }
        return Ingest.Http.SendAsync(request);
    }

    /// <summary>Alive, ready, no unhandled exception logged, and a valid event is still accepted and written.</summary>
    private async Task AssertHealthyAndAcceptingAsync()
    {
        Assert.Equal(HttpStatusCode.OK, (await Ingest.Http.GetAsync("/healthz")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Ingest.Http.GetAsync("/readyz")).StatusCode);
        var before = await Keyspace.ReadAsync(Db);
        var accepted = Assert.Single(await Events.AcceptedAsync(await Events.PostAsync(Ingest.Http, ValidEvent, apiKey: HostileRequests.ApiKey)));
        Assert.Equal(before.StreamLength + 1, (await Keyspace.ReadAsync(Db)).StreamLength);
        Assert.Equal(accepted.StreamId, (await Keyspace.ReadAsync(Db)).LastEntry);
        Fuzz.AssertNoUnhandledException(Ingest);
    }

    /// <summary>A body of unknown length, sent chunked as a streaming producer sends it.</summary>
    private sealed class ChunkedContent(byte[] body) : HttpContent
    {
        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) => stream.WriteAsync(body).AsTask();

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}
