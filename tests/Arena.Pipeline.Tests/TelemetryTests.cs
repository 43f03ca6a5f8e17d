using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using Arena.Pipeline.Tests.Infrastructure;

namespace Arena.Pipeline.Tests;

/// <summary>Every service exports traces, metrics and logs over OTLP when an endpoint is set, and one trace follows an event through the stream.</summary>
public sealed class TelemetryTests(ITestOutputHelper output) : PipelineTest(output)
{
    private static readonly string[] Services = ["ingest", "persister", "ranker", "sse-gateway"];

    [Fact]
    public async Task One_trace_shows_the_producers_request_and_every_services_work_on_the_event()
    {
        using var otlp = new OtlpReceiver();
        var settings = otlp.Settings();
        await using var persister = await TestServices.Persister(Redis, DataDir, Output, settings).WaitReadyAsync();
        await using var ranker = await TestServices.Ranker(Redis, Path.Combine(DataDir, "ranker"), Output, settings).WaitReadyAsync();
        await using var gateway = await TestServices.Gateway(Redis, Output, persister, settings).WaitReadyAsync();
        await using var ingest = await TestServices.Ingest(Redis, Output, settings).WaitReadyAsync();

        var trace = ActivityTraceId.CreateRandom();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/events")
        {
            Content = new StringContent(Events.GameEnd("traced-run", ("model-a", 1), ("model-b", 2)), Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("traceparent", $"00-{trace.ToHexString()}-{ActivitySpanId.CreateRandom().ToHexString()}-01");
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        await Events.AcceptedAsync(await ingest.Http.SendAsync(request));

        var traceBytes = Convert.FromHexString(trace.ToHexString());
        await Wait.UntilAsync(() => Services.All(service => otlp.Received("traces")
                .Any(r => r.Service == service && r.Body.AsSpan().IndexOf(traceBytes) >= 0)),
            "a span of the producer's trace from every service");
        foreach (var signal in new[] { "metrics", "logs" })
        {
            await Wait.UntilAsync(() => Services.All(service => otlp.Received(signal).Any(r => r.Service == service)),
                $"{signal} from every service");
        }
    }
}
