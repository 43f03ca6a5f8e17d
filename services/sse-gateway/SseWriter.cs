using System.Globalization;
using System.Text;

namespace Arena.SseGateway;

/// <summary>WHATWG Server-Sent Events framing: <c>id:</c>, <c>event:</c>, one <c>data:</c> line per line of data, a blank line.</summary>
public static class SseWriter
{
    /// <summary>The event names EventSource dispatches itself: <c>message</c> (frames without a name), <c>open</c> and <c>error</c> (the connection's state).</summary>
    public static readonly string[] ReservedNames = ["message", "open", "error"];

    /// <summary>The prefix of an arena type that EventSource reserves: <c>error</c> is sent as <c>event: arena.error</c>.</summary>
    public const string ReservedPrefix = "arena.";

    /// <summary>
    /// The <c>event:</c> name of a type. A frame named <c>error</c> reaches the same listeners
    /// as EventSource's connection error, so a game's error would look like a dropped
    /// connection: the reserved names get <see cref="ReservedPrefix"/>. Arena types never
    /// contain a dot, so no two types share a name.
    /// </summary>
    public static string EventName(string type) => ReservedNames.Contains(type) ? ReservedPrefix + type : type;

    /// <summary>
    /// The gateway's own notice that part of a run's history could not be served. Arena types
    /// never contain a dot and the only dotted names they are sent as begin with
    /// <see cref="ReservedPrefix"/>, so no event of a run can carry this name.
    /// </summary>
    public const string HistoryUnavailable = "gateway.history_unavailable";

    /// <summary>The gateway's frame at the end of a replay, named like <see cref="HistoryUnavailable"/> and as unmistakable.</summary>
    public const string ReplayEnd = "gateway.replay_end";

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
            frame.Append("event: ").Append(EventName(type)).Append('\n');
        }
        foreach (var line in data.Split('\n'))
        {
            frame.Append("data: ").Append(line.TrimEnd('\r')).Append('\n');
        }
        return frame.Append('\n').ToString();
    }

    public static byte[] Utf8Frame(string? id, string? type, string data) => Encoding.UTF8.GetBytes(Frame(id, type, data));

    public static string Retry(TimeSpan retry) =>
        string.Create(CultureInfo.InvariantCulture, $"retry: {(long)retry.TotalMilliseconds}\n\n");

    /// <summary>An empty stream that ends at once: the retry hint and a comment saying why. EventSource reconnects after it, where any status but 200 would stop it for good.</summary>
    public static async Task RetryLaterAsync(HttpResponse response, TimeSpan retry, string why, CancellationToken cancellation)
    {
        Prepare(response);
        await response.WriteAsync(Retry(retry) + ": " + why + "\n\n", cancellation);
    }

    public static ReadOnlySpan<byte> HeartbeatUtf8 => ": heartbeat\n\n"u8;
}
