using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Arena.Contracts;

namespace Arena.Chaos;

/// <summary>One result of a 202: the event, its stream ID, and whether ingest had it already.</summary>
public sealed record PostedEvent(string EventId, StreamId StreamId, bool Duplicate);

/// <summary>
/// Posts a request body to ingest until it gets an answer that decides it: 202 (the results)
/// or 400. 503 (Redis restarting), 429, connection errors and timeouts are retried with the
/// same body — every event carries its event_id, so a retry can never store an event twice.
/// </summary>
public sealed class IngestPoster(Uri ingest, Ledger ledger) : IDisposable
{
    private static readonly TimeSpan GiveUpAfter = TimeSpan.FromMinutes(3);

    private readonly HttpClient _http = new(new SocketsHttpHandler { MaxConnectionsPerServer = 64, PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
    {
        BaseAddress = ingest,
        Timeout = TimeSpan.FromSeconds(15),
    };

    /// <summary>The 202's results, or null for a 400.</summary>
    public async Task<IReadOnlyList<PostedEvent>?> PostAsync(byte[] body, CancellationToken cancellationToken)
    {
        var started = DateTime.UtcNow;
        var wait = TimeSpan.FromMilliseconds(50);
        while (true)
        {
            Interlocked.Increment(ref ledger.Requests);
            try
            {
                using var content = new ByteArrayContent(body);
                content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
                using var response = await _http.PostAsync("v1/events", content, cancellationToken);
                if (response.StatusCode == HttpStatusCode.Accepted)
                {
                    return Results(await response.Content.ReadAsByteArrayAsync(cancellationToken));
                }
                if (response.StatusCode == HttpStatusCode.BadRequest)
                {
                    return null;
                }
                if (response.StatusCode is not (HttpStatusCode.ServiceUnavailable or HttpStatusCode.TooManyRequests))
                {
                    throw new InvalidOperationException($"ingest answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(cancellationToken)}");
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
            {
                // The outcome is unknown: the retry below answers with the stream IDs if the events were stored.
            }
            if (DateTime.UtcNow - started > GiveUpAfter)
            {
                throw new TimeoutException($"ingest did not accept a request within {GiveUpAfter.TotalMinutes:F0} min");
            }
            Interlocked.Increment(ref ledger.Retries);
            await Task.Delay(wait, cancellationToken);
            wait = TimeSpan.FromMilliseconds(Math.Min(wait.TotalMilliseconds * 2, 1000));
        }
    }

    private static List<PostedEvent> Results(byte[] json)
    {
        using var document = JsonDocument.Parse(json);
        return [.. document.RootElement.GetProperty("results").EnumerateArray().Select(r => new PostedEvent(
            r.GetProperty("event_id").GetString()!,
            StreamId.Parse(r.GetProperty("stream_id").GetString()!),
            r.GetProperty("duplicate").GetBoolean()))];
    }

    public void Dispose() => _http.Dispose();
}
