using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Arena.Contracts;

namespace Arena.Simulator;

/// <summary>Posts batches of envelopes to ingest; retries 429/503 and connection failures, as a harness should.</summary>
public sealed class IngestClient(HttpClient http, string? apiKey)
{
    private static readonly TimeSpan MaxWait = TimeSpan.FromSeconds(10);

    public async Task PostAsync(IReadOnlyList<Envelope> batch, CancellationToken cancellationToken)
    {
        var body = JsonSerializer.SerializeToUtf8Bytes(batch.ToList(), ArenaJson.Default.ListEnvelope);
        var wait = TimeSpan.FromMilliseconds(200);
        while (true)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/events") { Content = new ByteArrayContent(body) };
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            if (apiKey is not null)
            {
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
            }

            HttpResponseMessage response;
            try
            {
                response = await http.SendAsync(request, cancellationToken);
            }
            catch (HttpRequestException e)
            {
                // Every event carries an event_id, so re-sending after an unknown outcome cannot double it.
                Console.Error.WriteLine($"ingest unreachable ({e.Message}); retrying in {wait.TotalSeconds:F1}s");
                await Task.Delay(wait, cancellationToken);
                wait = Min(wait * 2, MaxWait);
                continue;
            }

            using (response)
            {
                if (response.StatusCode == HttpStatusCode.Accepted)
                {
                    return;
                }
                if (response.StatusCode is HttpStatusCode.ServiceUnavailable or HttpStatusCode.TooManyRequests)
                {
                    var retryAfter = response.Headers.RetryAfter?.Delta ?? wait;
                    await Task.Delay(Min(retryAfter, MaxWait), cancellationToken);
                    wait = Min(wait * 2, MaxWait);
                    continue;
                }
                var problem = await response.Content.ReadAsStringAsync(cancellationToken);
                throw new InvalidOperationException($"ingest answered {(int)response.StatusCode}: {problem}");
            }
        }
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;
}
