using System.Text;
using Arena.Pipeline.Tests.Infrastructure;

namespace Arena.Pipeline.Tests.AccessControl;

/// <summary>Keys and read tokens never leave a service in its OTLP traces, metrics or logs.</summary>
public sealed class SecretsInTelemetryTests(ITestOutputHelper output) : PipelineTest(output)
{
    private const string Key = "otlp-key-5a0c71";
    private const string Token = "otlp-token-e83b12";

    [Fact]
    public async Task Keys_and_tokens_are_in_no_exported_span_metric_or_log()
    {
        using var otlp = new OtlpReceiver();
        var settings = new Dictionary<string, string>(otlp.Settings()) { ["Arena__ApiKeys"] = $"alpha:{Key}", ["Arena__ReadToken"] = Token };
        await using var ingest = await TestServices.Ingest(Redis, Output, settings).WaitReadyAsync();
        await using var persister = await TestServices.Persister(Redis, DataDir, Output, settings).WaitReadyAsync();
        await using var gateway = await TestServices.Gateway(Redis, Output, persister, settings).WaitReadyAsync();

        await Events.AcceptedAsync(await Events.PostAsync(ingest.Http, Events.TurnStart("run-t", 1), apiKey: Key));
        await Events.PostAsync(ingest.Http, Events.TurnStart("run-t", 2), apiKey: Key + "-wrong");
        await SseClient.ReadAsync(gateway.Http, $"/v1/runs/run-t/stream?access_token={Token}", null, e => e.Count == 1, TimeSpan.FromSeconds(30));
        using var runs = new HttpRequestMessage(HttpMethod.Get, "/v1/runs");
        runs.Headers.Authorization = new("Bearer", Token);
        (await gateway.Http.SendAsync(runs)).EnsureSuccessStatusCode();

        // The request spans (and the gateway's call to the persister) have been exported.
        await Wait.UntilAsync(() => Contains("traces", "ingest", "/v1/events") && Contains("traces", "sse-gateway", "/v1/runs/{runId}/stream")
                && Contains("traces", "persister", "/v1/runs"),
            "the request spans of ingest, the gateway and the persister");
        await Wait.UntilAsync(() => new[] { "ingest", "sse-gateway", "persister" }.All(s => otlp.Received("logs").Any(r => r.Service == s)),
            "logs of every service");

        var exported = 0;
        foreach (var signal in new[] { "traces", "metrics", "logs" })
        {
            foreach (var (service, body) in otlp.Received(signal))
            {
                exported += body.Length;
                foreach (var secret in new[] { Key, Token })
                {
                    Assert.True(body.AsSpan().IndexOf(Encoding.UTF8.GetBytes(secret)) < 0, $"{service} exported {secret} in its {signal}");
                }
            }
        }
        Output.WriteLine($"{exported} bytes of OTLP searched, no key or token in them");

        bool Contains(string signal, string service, string text) =>
            otlp.Received(signal).Any(r => r.Service == service && r.Body.AsSpan().IndexOf(Encoding.UTF8.GetBytes(text)) >= 0);
    }
}
