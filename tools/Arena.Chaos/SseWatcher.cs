using System.Net.Http.Headers;
using System.Text.Json;
using Arena.Contracts;

namespace Arena.Chaos;

/// <summary>
/// One SSE client on one run: follows it from its first event, drops the connection after a
/// random number of events (and whenever the gateway dies), and resumes with
/// <c>Last-Event-ID</c> as a browser would, recording every (stream ID, event_id) it receives.
/// </summary>
public sealed class SseWatcher(HttpClient http, Uri gateway, string runId, Random random)
{
    private readonly List<(StreamId Id, string EventId)> _received = [];
    private long _lastMs = -1;
    private long _lastSeq = -1;

    public string RunId => runId;
    public int Drops { get; private set; }
    public int Errors { get; private set; }

    /// <summary>Why connections broke, by cause, for the report.</summary>
    public Dictionary<string, int> Breaks { get; } = [];

    /// <summary>Every event received, in order; read it once the watcher has stopped.</summary>
    public IReadOnlyList<(StreamId Id, string EventId)> Received => _received;

    public StreamId? LastId => Interlocked.Read(ref _lastMs) < 0 ? null : new StreamId(Interlocked.Read(ref _lastMs), Interlocked.Read(ref _lastSeq));

    public async Task RunAsync(CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await FollowAsync(dropAfter: random.Next(50, 1500), stop);
                Drops++;
                await Task.Delay(random.Next(0, 300), stop);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is HttpRequestException or IOException or OperationCanceledException)
            {
                // The gateway died or restarted: resume from the last event received.
                Errors++;
                var cause = e.GetType().Name + ": " + e.Message;
                Breaks[cause] = Breaks.GetValueOrDefault(cause) + 1;
                try
                {
                    await Task.Delay(200, stop);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    private async Task FollowAsync(int dropAfter, CancellationToken stop)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(gateway, $"v1/runs/{Uri.EscapeDataString(runId)}/stream"));
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        if (LastId is { } last)
        {
            request.Headers.Add("Last-Event-ID", last.ToString());
        }
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, stop);
        if (!response.IsSuccessStatusCode)
        {
            throw new HttpRequestException($"the gateway answered {(int)response.StatusCode}");
        }
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(stop));
        string? id = null, data = null;
        var events = 0;
        while (events < dropAfter && await reader.ReadLineAsync(stop) is { } line)
        {
            if (line.Length == 0)
            {
                if (id is not null && data is not null)
                {
                    Record(StreamId.Parse(id), data);
                    events++;
                }
                (id, data) = (null, null);
            }
            else if (line.StartsWith("id: ", StringComparison.Ordinal))
            {
                id = line[4..];
            }
            else if (line.StartsWith("data: ", StringComparison.Ordinal))
            {
                data = line[6..];
            }
        }
        if (events < dropAfter)
        {
            throw new IOException("the stream ended");
        }
    }

    private void Record(StreamId id, string data)
    {
        using var envelope = JsonDocument.Parse(data);
        _received.Add((id, envelope.RootElement.GetProperty("event_id").GetString()!));
        Interlocked.Exchange(ref _lastSeq, id.Sequence);
        Interlocked.Exchange(ref _lastMs, id.Milliseconds);
    }
}
