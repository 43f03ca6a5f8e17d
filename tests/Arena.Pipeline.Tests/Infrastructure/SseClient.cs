using System.Net.Http.Headers;

namespace Arena.Pipeline.Tests.Infrastructure;

public sealed record SseEvent(string? Id, string? Type, string Data);

/// <summary>A minimal Server-Sent Events client over a real HTTP connection.</summary>
internal static class SseClient
{
    /// <summary>Reads events until <paramref name="enough"/> says stop (then disconnects) or the stream ends.</summary>
    public static async Task<List<SseEvent>> ReadAsync(HttpClient http, string url, string? lastEventId, Func<List<SseEvent>, bool> enough,
        TimeSpan timeout, Action? connected = null)
    {
        using var cancel = new CancellationTokenSource(timeout);
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        if (lastEventId is not null)
        {
            request.Headers.Add("Last-Event-ID", lastEventId);
        }
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancel.Token);
        response.EnsureSuccessStatusCode();
        connected?.Invoke();
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancel.Token));
        var events = new List<SseEvent>();
        string? id = null, type = null;
        var data = new List<string>();
        while (!enough(events) && await reader.ReadLineAsync(cancel.Token) is { } line)
        {
            if (line.Length == 0)
            {
                if (data.Count > 0)
                {
                    events.Add(new SseEvent(id, type, string.Join('\n', data)));
                }
                (id, type) = (null, null);
                data.Clear();
            }
            else if (line.StartsWith("id: ", StringComparison.Ordinal))
            {
                id = line[4..];
            }
            else if (line.StartsWith("event: ", StringComparison.Ordinal))
            {
                type = line[7..];
            }
            else if (line.StartsWith("data: ", StringComparison.Ordinal))
            {
                data.Add(line[6..]);
            }
        }
        return events;
    }
}
