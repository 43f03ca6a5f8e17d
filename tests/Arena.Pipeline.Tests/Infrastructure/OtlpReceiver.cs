using System.Collections.Concurrent;
using System.Net;
using System.Text;

namespace Arena.Pipeline.Tests.Infrastructure;

/// <summary>
/// A minimal OTLP/HTTP (protobuf) endpoint: it keeps every export request by signal and
/// reads the one thing the tests need from the protobuf by hand, the resource's
/// <c>service.name</c>.
/// </summary>
internal sealed class OtlpReceiver : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly ConcurrentQueue<(string Signal, byte[] Body)> _requests = new();
    private readonly Task _loop;

    public OtlpReceiver()
    {
        Port = FreePort.Next();
        _listener.Prefixes.Add($"http://127.0.0.1:{Port}/");
        _listener.Start();
        _loop = Task.Run(ReceiveAsync);
    }

    public int Port { get; }
    public string Endpoint => $"http://127.0.0.1:{Port}";

    /// <summary>Settings that make a service export every signal here, promptly.</summary>
    public Dictionary<string, string> Settings() => new()
    {
        ["OTEL_EXPORTER_OTLP_ENDPOINT"] = Endpoint,
        ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
        ["OTEL_BSP_SCHEDULE_DELAY"] = "200",
        ["OTEL_BLRP_SCHEDULE_DELAY"] = "200",
        ["OTEL_METRIC_EXPORT_INTERVAL"] = "1000",
    };

    /// <summary>Requests of a signal (traces, metrics, logs), each with the service that sent it.</summary>
    public IEnumerable<(string Service, byte[] Body)> Received(string signal) =>
        _requests.Where(r => r.Signal == signal).Select(r => (ServiceName(r.Body), r.Body));

    private async Task ReceiveAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException)
            {
                return;
            }
            using var body = new MemoryStream();
            await context.Request.InputStream.CopyToAsync(body);
            _requests.Enqueue((context.Request.Url!.AbsolutePath.Split('/').Last(), body.ToArray()));
            context.Response.StatusCode = 200;
            context.Response.ContentType = "application/x-protobuf";
            context.Response.Close();
        }
    }

    /// <summary>KeyValue{key: "service.name", value: AnyValue{string_value: name}}, read from the bytes after the key.</summary>
    private static string ServiceName(byte[] body)
    {
        var key = Encoding.UTF8.GetBytes("service.name");
        var at = body.AsSpan().IndexOf(key);
        if (at < 0)
        {
            return "";
        }
        var i = at + key.Length;
        if (body[i++] != 0x12)
        {
            return "";
        }
        ReadVarint(body, ref i);
        if (body[i++] != 0x0A)
        {
            return "";
        }
        var length = (int)ReadVarint(body, ref i);
        return Encoding.UTF8.GetString(body, i, length);
    }

    private static ulong ReadVarint(byte[] bytes, ref int i)
    {
        ulong value = 0;
        for (var shift = 0; ; shift += 7)
        {
            var b = bytes[i++];
            value |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0)
            {
                return value;
            }
        }
    }

    public void Dispose()
    {
        _listener.Close();
        _loop.Wait(TimeSpan.FromSeconds(5));
    }
}
