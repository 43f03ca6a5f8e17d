using System.Globalization;
using System.Text;

namespace Arena.SseGateway;

/// <summary>WHATWG Server-Sent Events framing: <c>id:</c>, <c>event:</c>, one <c>data:</c> line per line of data, a blank line.</summary>
public static class SseWriter
{
    public static void Prepare(HttpResponse response)
    {
        response.ContentType = "text/event-stream; charset=utf-8";
        response.Headers.CacheControl = "no-cache, no-transform";
        response.Headers["X-Accel-Buffering"] = "no";
        response.Headers.Connection = "keep-alive";
    }

    public static string Frame(string? id, string? type, string data)
    {
        var frame = new StringBuilder(data.Length + 64);
        if (id is not null)
        {
            frame.Append("id: ").Append(id).Append('\n');
        }
        if (type is not null)
        {
            frame.Append("event: ").Append(type).Append('\n');
        }
        foreach (var line in data.Split('\n'))
        {
            frame.Append("data: ").Append(line.TrimEnd('\r')).Append('\n');
        }
        return frame.Append('\n').ToString();
    }

    public static string Retry(TimeSpan retry) =>
        string.Create(CultureInfo.InvariantCulture, $"retry: {(long)retry.TotalMilliseconds}\n\n");

    public const string Heartbeat = ": heartbeat\n\n";
}
