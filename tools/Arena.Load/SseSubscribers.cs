using System.Diagnostics;
using System.Net;

namespace Arena.Load;

/// <summary>
/// N live SSE clients on the gateway, each one connection and one reader task with its own
/// small buffer and <see cref="SseIdScanner"/>; latencies go into one shared histogram. A
/// stream that ends or fails is resumed with <c>Last-Event-ID</c>, as a browser would.
/// </summary>
internal sealed class SseSubscribers : IAsyncDisposable
{
    private const int BufferBytes = 4096;

    private readonly HttpClient _http;
    private readonly Uri _gateway;
    private readonly string[] _runOfClient;
    private readonly CancellationTokenSource _stop = new();
    // Connections are opened a few hundred at a time, so thousands of clients do not arrive
    // as one burst of handshakes.
    private readonly SemaphoreSlim _gate = new(200);
    private readonly List<Task> _readers = [];
    private long _delivered;
    private long _reconnects;
    private long _errors;
    private long _lastDelivery;
    private int _connected;

    public SseSubscribers(Uri gateway, string? readToken, IReadOnlyList<string> runOfClient)
    {
        _gateway = gateway;
        _runOfClient = [.. runOfClient];
        _http = new HttpClient(new SocketsHttpHandler
        {
            MaxConnectionsPerServer = int.MaxValue,
            UseCookies = false,
            UseProxy = false,
            ConnectTimeout = TimeSpan.FromSeconds(10),
            PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
        })
        {
            Timeout = Timeout.InfiniteTimeSpan,
            DefaultRequestVersion = HttpVersion.Version11,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        if (readToken is not null)
        {
            _http.DefaultRequestHeaders.Authorization = new("Bearer", readToken);
        }
    }

    public LatencyHistogram Latency { get; } = new();
    public int Clients => _runOfClient.Length;
    public int Connected => Volatile.Read(ref _connected);
    public long Delivered => Interlocked.Read(ref _delivered);
    public long Reconnects => Interlocked.Read(ref _reconnects);
    public long Errors => Interlocked.Read(ref _errors);
    /// <summary>Stopwatch timestamp of the last read that carried an event (0 before any).</summary>
    public long LastDelivery => Interlocked.Read(ref _lastDelivery);

    /// <summary>Starts every client; returns once each has its stream open (subscribed) or <paramref name="timeout"/> passed.</summary>
    public async Task StartAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var opened = new TaskCompletionSource[_runOfClient.Length];
        for (var i = 0; i < _runOfClient.Length; i++)
        {
            opened[i] = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _readers.Add(ReadAsync(_runOfClient[i], opened[i], _stop.Token));
        }
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            await Task.WhenAll(opened.Select(o => o.Task)).WaitAsync(deadline.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // Some clients did not connect in time; Connected says how many did.
        }
    }

    private async Task ReadAsync(string runId, TaskCompletionSource opened, CancellationToken stop)
    {
        await Task.Yield();
        var buffer = new byte[BufferBytes];
        var scanner = new SseIdScanner();
        var path = $"v1/runs/{Uri.EscapeDataString(runId)}/stream";
        var first = true;
        while (!stop.IsCancellationRequested)
        {
            var lastId = scanner.LastId;
            var uri = new Uri(_gateway, lastId is null ? path + "?from=live" : path);
            var held = first;
            try
            {
                if (held)
                {
                    await _gate.WaitAsync(stop);
                }
                using var request = new HttpRequestMessage(HttpMethod.Get, uri);
                request.Headers.Accept.ParseAdd("text/event-stream");
                if (lastId is not null)
                {
                    request.Headers.TryAddWithoutValidation("Last-Event-ID", lastId);
                }
                using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, stop);
                if (held)
                {
                    _gate.Release();
                    held = false;
                }
                if (response.StatusCode != HttpStatusCode.OK)
                {
                    Interlocked.Increment(ref _errors);
                    await Task.Delay(TimeSpan.FromMilliseconds(500), stop);
                    continue;
                }
                await using var body = await response.Content.ReadAsStreamAsync(stop);
                if (first)
                {
                    // The gateway subscribes the client before it sends the headers: from here on
                    // every event of the run reaches this client.
                    first = false;
                    Interlocked.Increment(ref _connected);
                    opened.TrySetResult();
                }
                int read;
                while ((read = await body.ReadAsync(buffer, stop)) > 0)
                {
                    var events = scanner.Feed(buffer.AsSpan(0, read), UnixClock.NowMs(), Latency);
                    if (events > 0)
                    {
                        Interlocked.Add(ref _delivered, events);
                        Interlocked.Exchange(ref _lastDelivery, Stopwatch.GetTimestamp());
                    }
                }
                Interlocked.Increment(ref _reconnects);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e) when (e is HttpRequestException or IOException or OperationCanceledException)
            {
                if (held)
                {
                    _gate.Release();
                }
                Interlocked.Increment(ref _errors);
                if (!first)
                {
                    Interlocked.Increment(ref _reconnects);
                }
                try
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(500), stop);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        }
        opened.TrySetResult();
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await Task.WhenAll(_readers);
        _stop.Dispose();
        _gate.Dispose();
        _http.Dispose();
    }
}

/// <summary>Wall-clock Unix time in fractional milliseconds (the clock Redis stamps stream IDs with, on the same machine).</summary>
public static class UnixClock
{
    public static double NowMs() => (DateTime.UtcNow.Ticks - DateTime.UnixEpoch.Ticks) / (double)TimeSpan.TicksPerMillisecond;
}
