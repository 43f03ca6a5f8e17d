using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;

namespace Arena.Load;

/// <summary>
/// One load run against the pipeline: sends observation events to ingest at a fixed rate
/// (or flat out), and optionally measures ingest → SSE delivery with live clients on the
/// gateway and ingest → commit lag by polling the persister.
/// </summary>
/// <example>
/// <code>
/// var result = await new LoadRun(new LoadOptions { Rate = 2000, Duration = TimeSpan.FromSeconds(10) }).RunAsync(ct);
/// Console.WriteLine(result.AcceptedPerSecond);
/// </code>
/// </example>
public sealed class LoadRun
{
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan MinTimerWait = TimeSpan.FromMilliseconds(1);

    private readonly LoadOptions _options;
    private readonly string _prefix;
    private readonly string[] _runIds;
    private readonly RateSchedule _schedule;
    private readonly BatchPlan _plan;
    private readonly CommitLagTracker _accepted;
    private readonly EventBatchWriter _writer;
    private readonly LatencyHistogram _requestLatency = new();
    private readonly LatencyHistogram _scheduledLatency = new();
    private readonly long[] _statuses = new long[600];
    private long _transportFailures;
    private long _nextBatch;
    private long _requests;
    private long _eventsSent;
    private long _bytesSent;
    private long _eventsAccepted;
    private long _start;
    private long _lastResponse;

    /// <exception cref="ArgumentException">The options are invalid; the message lists every problem.</exception>
    public LoadRun(LoadOptions options)
    {
        var problems = options.Problems();
        if (problems.Count > 0)
        {
            throw new ArgumentException(string.Join("; ", problems), nameof(options));
        }
        _options = options;
        _prefix = options.RunPrefix
            ?? string.Create(CultureInfo.InvariantCulture, $"load-{DateTime.UtcNow:yyyyMMdd-HHmmss}-{Random.Shared.Next(0x10000):x4}");
        var width = (options.Runs - 1).ToString(CultureInfo.InvariantCulture).Length;
        _runIds = [.. Enumerable.Range(0, options.Runs).Select(i => $"{_prefix}-{i.ToString(CultureInfo.InvariantCulture).PadLeft(width, '0')}")];
        _schedule = new RateSchedule(options.Rate, options.Batch);
        _plan = new BatchPlan(options.Batch, options.Runs, options.Events);
        _accepted = new CommitLagTracker(options.Runs);
        _writer = new EventBatchWriter(_runIds, options.EventBytes, options.EventIds);
    }

    /// <summary>The run IDs the events go to, in order (batch <c>i</c> goes to <c>RunIds[i mod runs]</c>).</summary>
    public IReadOnlyList<string> RunIds => _runIds;

    /// <summary>
    /// Runs the load: checks that each service answers <c>/readyz</c>, opens the SSE clients
    /// (if any) and waits until they are subscribed, sends, then waits (bounded) for the
    /// clients and the persister to catch up. Cancelling stops sending and returns what was
    /// measured so far, with <see cref="LoadResult.Cancelled"/> set.
    /// </summary>
    /// <exception cref="InvalidOperationException">A service did not answer, or no SSE client could subscribe.</exception>
    public async Task<LoadResult> RunAsync(CancellationToken cancellationToken = default)
    {
        using var ingest = IngestClient(_options);
        using var probe = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        if (_options.ReadToken is { } token)
        {
            // The probe also polls the persister's committed marks.
            probe.DefaultRequestHeaders.Authorization = new("Bearer", token);
        }
        await ReadyAsync(probe, "ingest", _options.IngestUrl, cancellationToken);
        if (_options.PersisterUrl is { } persisterUrl)
        {
            await ReadyAsync(probe, "persister", persisterUrl, cancellationToken);
        }

        await using var sse = _options.SseClients > 0 && _options.SseUrl is { } gatewayUrl
            ? new SseSubscribers(WithSlash(gatewayUrl), _options.ReadToken, [.. Enumerable.Range(0, _options.SseClients).Select(c => _runIds[_options.SseSpread ? c % _runIds.Length : 0])])
            : null;
        if (sse is not null)
        {
            await ReadyAsync(probe, "SSE gateway", _options.SseUrl!, cancellationToken);
            await sse.StartAsync(TimeSpan.FromSeconds(60), cancellationToken);
            if (sse.Connected == 0)
            {
                throw new InvalidOperationException($"no SSE client could subscribe at {_options.SseUrl} ({sse.Errors} failed attempts)");
            }
        }

        using var stopAll = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var monitor = _options.PersisterUrl is { } p ? new CommitLagMonitor(probe, WithSlash(p), _runIds, _accepted, _options.PersisterPoll) : null;
        var monitoring = monitor?.RunAsync(stopAll.Token) ?? Task.CompletedTask;
        var phase = "load";
        var progress = ProgressAsync(() => phase, sse, monitor, stopAll.Token);

        _start = Stopwatch.GetTimestamp();
        _lastResponse = _start;
        await Task.WhenAll(Enumerable.Range(0, _options.Connections).Select(_ => Task.Run(() => SendAsync(ingest, cancellationToken), CancellationToken.None)));
        var sent = Stopwatch.GetTimestamp();
        var cancelled = cancellationToken.IsCancellationRequested;

        phase = "drain";
        var expected = sse is null ? 0 : ExpectedDeliveries(sse);
        var sseDrain = sse is null || cancelled ? Task.CompletedTask : WaitAsync(() => sse.Delivered >= expected, _options.SseDrainTimeout, cancellationToken);
        var persisterDrain = monitor is null || cancelled ? Task.CompletedTask : WaitAsync(() => monitor.CaughtUp, _options.PersisterDrainTimeout, cancellationToken);
        await Task.WhenAll(sseDrain, persisterDrain);
        await stopAll.CancelAsync();
        await Task.WhenAll(monitoring, progress);

        return Result(sent, cancelled, sse, expected, monitor);
    }

    private async Task SendAsync(HttpClient http, CancellationToken cancellationToken)
    {
        var body = new ArrayBufferWriter<byte>(Math.Min(_options.Batch * (_options.EventBytes + 64), 1 << 20));
        var answer = new ArrayBufferWriter<byte>(16 * 1024);
        var durationTicks = _options.Duration is { } d ? (long)(d.TotalSeconds * Stopwatch.Frequency) : long.MaxValue;
        var uri = new Uri(WithSlash(_options.IngestUrl), "v1/events");
        var bearer = _options.ApiKey is { } key ? $"Bearer {key}" : null;

        while (!cancellationToken.IsCancellationRequested)
        {
            var index = Interlocked.Increment(ref _nextBatch) - 1;
            if (!_plan.TryGet(index, out var slot))
            {
                return;
            }
            var due = _start + _schedule.DueTicks(index);
            if (_schedule.IsPaced && due - _start >= durationTicks)
            {
                return;
            }

            // The body is built before the batch is due, so the send itself is only I/O.
            body.ResetWrittenCount();
            _writer.Write(body, slot.Run, slot.FirstSeq, slot.Count, DateTimeOffset.UtcNow);

            if (_schedule.IsPaced)
            {
                var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), due);
                if (wait >= MinTimerWait)
                {
                    try
                    {
                        await Task.Delay(wait, cancellationToken);
                    }
                    catch (OperationCanceledException)
                    {
                        return;
                    }
                }
            }
            else
            {
                due = Stopwatch.GetTimestamp();
                if (due - _start >= durationTicks)
                {
                    return;
                }
            }

            using var request = new HttpRequestMessage(HttpMethod.Post, uri)
            {
                Content = new ReadOnlyMemoryContent(body.WrittenMemory),
            };
            request.Content.Headers.TryAddWithoutValidation("Content-Type", "application/json");
            if (bearer is not null)
            {
                request.Headers.TryAddWithoutValidation("Authorization", bearer);
            }
            Interlocked.Increment(ref _requests);
            Interlocked.Add(ref _eventsSent, slot.Count);
            Interlocked.Add(ref _bytesSent, body.WrittenCount);
            var started = Stopwatch.GetTimestamp();
            try
            {
                using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
                answer.ResetWrittenCount();
                await using (var stream = await response.Content.ReadAsStreamAsync(cancellationToken))
                {
                    int read;
                    while ((read = await stream.ReadAsync(answer.GetMemory(16 * 1024), cancellationToken)) > 0)
                    {
                        answer.Advance(read);
                    }
                }
                var done = Stopwatch.GetTimestamp();
                Interlocked.Exchange(ref _lastResponse, done);
                if (response.StatusCode == HttpStatusCode.Accepted)
                {
                    _accepted.Accepted(slot.Run, slot.Count, AcceptedIds.Highest(answer.WrittenSpan), done);
                    Interlocked.Add(ref _eventsAccepted, slot.Count);
                    _requestLatency.RecordMicroseconds(Micros(done - started));
                    if (_schedule.IsPaced)
                    {
                        _scheduledLatency.RecordMicroseconds(Micros(done - Math.Min(due, started)));
                    }
                }
                else
                {
                    Interlocked.Increment(ref _statuses[Math.Clamp((int)response.StatusCode, 0, _statuses.Length - 1)]);
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is HttpRequestException or IOException or OperationCanceledException)
            {
                Interlocked.Exchange(ref _lastResponse, Stopwatch.GetTimestamp());
                Interlocked.Increment(ref _transportFailures);
                // Ingest is unreachable or too slow: do not spin on it.
                try
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(100), cancellationToken);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    private long ExpectedDeliveries(SseSubscribers sse)
    {
        // Every connected client subscribed before the first send, so it is owed every accepted
        // event of its run. Clients that never connected are owed nothing.
        if (sse.Connected == sse.Clients)
        {
            return _options.SseSpread
                ? Enumerable.Range(0, sse.Clients).Sum(c => _accepted.AcceptedEvents(c % _runIds.Length))
                : sse.Clients * _accepted.AcceptedEvents(0);
        }
        return _options.SseSpread
            ? (long)Math.Round(Enumerable.Range(0, _runIds.Length).Sum(r => (double)_accepted.AcceptedEvents(r)) * sse.Connected / _runIds.Length)
            : sse.Connected * _accepted.AcceptedEvents(0);
    }

    private async Task ProgressAsync(Func<string> phase, SseSubscribers? sse, CommitLagMonitor? monitor, CancellationToken stop)
    {
        if (_options.Progress is not { } report)
        {
            return;
        }
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        long lastAccepted = 0, lastDelivered = 0;
        var last = Stopwatch.GetTimestamp();
        try
        {
            while (await timer.WaitForNextTickAsync(stop))
            {
                var now = Stopwatch.GetTimestamp();
                var seconds = Stopwatch.GetElapsedTime(last, now).TotalSeconds;
                last = now;
                var accepted = Interlocked.Read(ref _eventsAccepted);
                var delivered = sse?.Delivered ?? 0;
                report(new LoadProgress(
                    phase(),
                    _start == 0 ? 0 : Stopwatch.GetElapsedTime(_start, now).TotalSeconds,
                    Interlocked.Read(ref _eventsSent),
                    accepted,
                    (accepted - lastAccepted) / seconds,
                    Failed(),
                    sse is null ? null : (delivered - lastDelivered) / seconds,
                    monitor?.LastLagMs));
                lastAccepted = accepted;
                lastDelivered = delivered;
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private LoadResult Result(long sent, bool cancelled, SseSubscribers? sse, long expected, CommitLagMonitor? monitor)
    {
        var end = Math.Max(Interlocked.Read(ref _lastResponse), _start);
        var seconds = Math.Max(Stopwatch.GetElapsedTime(_start, end).TotalSeconds, 1e-9);
        var failures = new SortedDictionary<string, long>(StringComparer.Ordinal);
        for (var code = 0; code < _statuses.Length; code++)
        {
            if (_statuses[code] > 0)
            {
                failures[code.ToString(CultureInfo.InvariantCulture)] = _statuses[code];
            }
        }
        if (_transportFailures > 0)
        {
            failures["transport"] = _transportFailures;
        }
        var eventsSent = Interlocked.Read(ref _eventsSent);
        return new LoadResult
        {
            RunPrefix = _prefix,
            TargetRate = _options.Rate,
            Batch = _options.Batch,
            Runs = _options.Runs,
            Connections = _options.Connections,
            EventBytes = eventsSent == 0 ? 0 : Math.Round((double)Interlocked.Read(ref _bytesSent) / eventsSent, 1),
            DurationSeconds = Math.Round(seconds, 3),
            Requests = Interlocked.Read(ref _requests),
            EventsSent = eventsSent,
            EventsAccepted = Interlocked.Read(ref _eventsAccepted),
            AcceptedPerSecond = Math.Round(Interlocked.Read(ref _eventsAccepted) / seconds, 1),
            FailedRequests = Failed(),
            Failures = failures,
            RequestLatency = _requestLatency.Summary(),
            ScheduledLatency = _schedule.IsPaced ? _scheduledLatency.Summary() : null,
            Sse = sse is null ? null : SseResultOf(sse, expected),
            Persister = monitor?.Result(sent, _options.LagThreshold),
            Cancelled = cancelled,
        };
    }

    private SseResult SseResultOf(SseSubscribers sse, long expected)
    {
        var last = sse.LastDelivery;
        var seconds = last > _start ? Stopwatch.GetElapsedTime(_start, last).TotalSeconds : 0;
        return new SseResult
        {
            Clients = sse.Clients,
            Connected = sse.Connected,
            Delivered = sse.Delivered,
            Expected = expected,
            DeliveriesPerSecond = seconds > 0 ? Math.Round(sse.Delivered / seconds, 1) : 0,
            Latency = sse.Latency.Summary(),
            Reconnects = sse.Reconnects,
            Errors = sse.Errors,
        };
    }

    private long Failed() => _statuses.Sum() + Interlocked.Read(ref _transportFailures);

    private static long Micros(long stopwatchTicks) => (long)(stopwatchTicks * 1_000_000.0 / Stopwatch.Frequency);

    private static HttpClient IngestClient(LoadOptions options) =>
        new(new SocketsHttpHandler
        {
            MaxConnectionsPerServer = options.Connections,
            UseCookies = false,
            UseProxy = false,
            ConnectTimeout = TimeSpan.FromSeconds(5),
            PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
        })
        {
            Timeout = RequestTimeout,
            DefaultRequestVersion = HttpVersion.Version11,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };

    private static async Task ReadyAsync(HttpClient probe, string name, Uri baseUrl, CancellationToken cancellationToken)
    {
        var url = new Uri(WithSlash(baseUrl), "readyz");
        try
        {
            using var response = await probe.GetAsync(url, cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                throw new InvalidOperationException($"{name} at {baseUrl} is not ready: GET /readyz answered {(int)response.StatusCode}");
            }
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            throw new InvalidOperationException($"{name} at {baseUrl} does not answer: {e.Message}", e);
        }
    }

    private static async Task WaitAsync(Func<bool> done, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        while (!done() && Stopwatch.GetTimestamp() < deadline && !cancellationToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(TimeSpan.FromMilliseconds(20), cancellationToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    internal static Uri WithSlash(Uri uri) => uri.AbsoluteUri.EndsWith('/') ? uri : new Uri(uri.AbsoluteUri + "/");

    /// <summary>Serializes a result as indented snake_case JSON.</summary>
    public static string ToJson(LoadResult result) => JsonSerializer.Serialize(result, LoadJson.Default.LoadResult);
}
