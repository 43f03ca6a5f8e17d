using System.Buffers;
using System.Text.Json;
using Arena.Contracts;
using Arena.Security;
using Arena.ServiceDefaults;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Arena.SseGateway;

/// <summary>The streams: one run (resumable, gap-free), all runs (live), the leaderboard.</summary>
public static class SseEndpoints
{
    public static void MapStreams(this WebApplication app)
    {
        // EventSource cannot send headers: the streams also take the token as ?access_token=.
        // Limits after the token check: a request without a valid token holds no connection slot.
        var streams = ConnectionLimits.Apply(app.MapGroup("/v1").RequireReadAccess(acceptQueryToken: true))
            .ProducesBody(StatusCodes.Status200OK, "text/event-stream")
            .ProducesProblems(StatusCodes.Status400BadRequest, StatusCodes.Status401Unauthorized, StatusCodes.Status429TooManyRequests,
                StatusCodes.Status503ServiceUnavailable);
        streams.MapGet("/runs/{runId}/stream", RunStreamAsync).WithName("RunStream")
            .WithSummary("One run live, from its start or from Last-Event-ID / ?after=, without gaps");
        streams.MapGet("/stream", AllRunsAsync).WithName("AllRunsStream").WithSummary("Every run's events live");
        streams.MapGet("/runs/{runId}/replay", Replay.PlayAsync).WithName("RunReplay")
            .WithSummary("A stored run played again at its original pace times ?speed=, then gateway.replay_end");
        streams.MapGet("/leaderboard/stream", LeaderboardAsync).WithName("LeaderboardStream").WithSummary("The leaderboard, each time it changes");
    }

    private static async Task RunStreamAsync(HttpContext http, string runId, string? after, string? from,
        Hub hub, IConnectionMultiplexer redis, IHttpClientFactory clients, IOptions<GatewayOptions> options, IOptions<ArenaOptions> arena, GatewayMetrics metrics)
    {
        if (!EnvelopeRules.Id().IsMatch(runId))
        {
            await Reject(http, "run_id", "must be 1 to 128 characters of A-Z a-z 0-9 . _ : -");
            return;
        }
        if (!TryResumePoint(http, after, out var resumeField, out var resumeAfter, out var error))
        {
            await Reject(http, resumeField, error);
            return;
        }
        var live = resumeAfter is null && from == "live";
        if (from is not null and not "live")
        {
            await Reject(http, "from", $"'{Shorten(from)}' is not understood; use from=live or leave it out");
            return;
        }

        var partition = Partitioner.PartitionOf(runId, arena.Value.Partitions);
        // EventSource gives up for good on any answer but 200: until the tail has joined the
        // stream the request waits, then ends as an empty 200, and the client comes back.
        if (!await hub.WaitStartedAsync(partition, options.Value.JoinWait, http.RequestAborted))
        {
            await RetryLaterAsync(http, options.Value, metrics);
            return;
        }
        var (subscriber, dispatchedUpTo) = hub.Subscribe(partition, runId, options.Value.ClientBuffer);
        try
        {
            if (resumeAfter is { } r && r > dispatchedUpTo)
            {
                // Not dispatched here yet is not "ahead": another gateway may have sent it, or the tail is behind.
                StreamId issued;
                try
                {
                    issued = await StreamTail.LastGeneratedIdAsync(redis.GetDatabase(), StreamKeys.Events(partition));
                }
                catch (Exception e) when (e is RedisException or TimeoutException)
                {
                    await RetryLaterAsync(http, options.Value, metrics);
                    return;
                }
                if (r > issued)
                {
                    await Reject(http, resumeField, $"'{r}' is ahead of the stream (last issued {issued}); it was not issued by this stream");
                    return;
                }
            }
            SseWriter.Prepare(http.Response);
            await http.Response.WriteAsync(SseWriter.Retry(options.Value.Retry), http.RequestAborted);
            await http.Response.Body.FlushAsync(http.RequestAborted);

            var last = live ? dispatchedUpTo : resumeAfter ?? StreamId.Zero;
            if (!live)
            {
                last = await SendHistoryAsync(http, runId, partition, last, dispatchedUpTo, redis, clients, metrics);
            }
            await SendLiveAsync(http, subscriber, last, options.Value, metrics);
        }
        finally
        {
            hub.Unsubscribe(subscriber);
        }
    }

    /// <summary>
    /// Where a stream resumes: after the <c>Last-Event-ID</c> header (a browser's reconnect) or
    /// <c>?after=</c> (a link, a script); null without either. False when the one given is not a
    /// stream ID; <paramref name="field"/> names it either way, for the error.
    /// </summary>
    internal static bool TryResumePoint(HttpContext http, string? after, out string field, out StreamId? resumeAfter, out string error)
    {
        var header = http.Request.Headers["Last-Event-ID"].FirstOrDefault();
        (field, var resume) = string.IsNullOrEmpty(header) ? ("after", after) : ("Last-Event-ID", header);
        (resumeAfter, error) = (null, "");
        if (string.IsNullOrEmpty(resume))
        {
            return true;
        }
        if (!StreamId.TryParse(resume, out var parsed))
        {
            error = $"'{Shorten(resume)}' is not a stream ID; expected <ms>-<seq> as sent in an event's id: field";
            return false;
        }
        resumeAfter = parsed;
        return true;
    }

    /// <summary>
    /// Everything of the run after <paramref name="after"/> up to <paramref name="upTo"/>.
    /// Redis serves whatever it still holds: trimming removes only what every bounding group
    /// has committed, so anything the persister has not committed — entries pending in a dead
    /// consumer while later ones are committed — is still in the stream. Only what lies below
    /// the stream's first entry is asked of the persister, which has committed all of it. Each
    /// stream read takes the stream's first entry in the same transaction, so a trim between
    /// reads is seen and the range it removed is asked of the persister. Returns the last ID sent.
    /// </summary>
    private static async Task<StreamId> SendHistoryAsync(HttpContext http, string runId, int partition, StreamId after, StreamId upTo,
        IConnectionMultiplexer redis, IHttpClientFactory clients, GatewayMetrics metrics)
    {
        var persister = clients.CreateClient("persister");
        var db = redis.GetDatabase();
        var stream = StreamKeys.Events(partition);
        var last = after;
        while (last < upTo)
        {
            var read = db.CreateTransaction();
            var firstTask = read.StreamRangeAsync(stream, "-", "+", 1);
            var entriesTask = read.StreamRangeAsync(stream, "(" + last, upTo.ToString(), 1000);
            await read.ExecuteAsync();
            var (first, entries) = (await firstTask, await entriesTask);
            var oldest = first.Length == 1 ? StreamId.Parse(first[0].Id.ToString()) : (StreamId?)null;
            if (oldest is null || oldest > last)
            {
                // Trimmed (or never in this stream): the persister has it.
                last = await SendFromPersisterAsync(http, persister, runId, last, oldest is { } o ? Min(upTo, o.Previous()) : upTo, metrics);
            }
            foreach (var entry in entries)
            {
                var id = StreamId.Parse(entry.Id.ToString());
                if (id <= last)
                {
                    continue;
                }
                last = id;
                if (entry[StreamFields.RunId] == runId && StreamTail.ToLiveEvent(partition, id, entry) is { } e)
                {
                    await http.Response.Body.WriteAsync(e.Frame, http.RequestAborted);
                    metrics.HistoryEvents.Add(1, new KeyValuePair<string, object?>("source", "redis"));
                }
            }
            if (entries.Length < 1000)
            {
                break;
            }
        }
        await http.Response.Body.FlushAsync(http.RequestAborted);
        return last;
    }

    /// <summary>
    /// The run's committed events after <paramref name="after"/> up to <paramref name="upTo"/>, from the persister's history API.
    /// Without the persister, what it did not serve is announced as a <see cref="HistoryGap"/> and the stream goes on past it.
    /// </summary>
    private static async Task<StreamId> SendFromPersisterAsync(HttpContext http, HttpClient persister, string runId, StreamId after, StreamId upTo, GatewayMetrics metrics)
    {
        var last = after;
        try
        {
            while (last < upTo)
            {
                using var response = await persister.GetAsync($"/v1/runs/{runId}/events?after={last}&limit=1000", http.RequestAborted);
                response.EnsureSuccessStatusCode();
                using var page = JsonDocument.Parse(await response.Content.ReadAsStreamAsync(http.RequestAborted));
                var sent = 0;
                foreach (var e in page.RootElement.GetProperty("events").EnumerateArray())
                {
                    var id = StreamId.Parse(e.GetProperty("stream_id").GetString()!);
                    if (id > upTo)
                    {
                        break;
                    }
                    await http.Response.WriteAsync(SseWriter.Frame(id.ToString(), e.GetProperty("type").GetString(), e.GetRawText()), http.RequestAborted);
                    last = id;
                    sent++;
                }
                metrics.HistoryEvents.Add(sent, new KeyValuePair<string, object?>("source", "persister"));
                if (page.RootElement.GetProperty("next_after").ValueKind == JsonValueKind.Null || sent == 0)
                {
                    break;
                }
            }
            return last;
        }
        catch (Exception e) when (HistoryGap.ReasonFor(e, http.RequestAborted) is { } reason)
        {
            await http.Response.WriteAsync(HistoryGap.Frame(runId, last, upTo.Next(), reason), http.RequestAborted);
            metrics.HistoryUnavailable.Add(1, new KeyValuePair<string, object?>("reason", reason));
            return upTo;
        }
    }

    private static StreamId Min(StreamId a, StreamId b) => a < b ? a : b;

    /// <param name="last">The last ID sent from history: live events up to it are skipped. Null for a live-only stream of several partitions, whose IDs interleave.</param>
    private static async Task SendLiveAsync(HttpContext http, Subscriber subscriber, StreamId? last, GatewayOptions options, GatewayMetrics metrics)
    {
        var reason = "client";
        var body = http.Response.BodyWriter;
        // One heartbeat timer per connection, re-armed before each wait; replaced only after it fired.
        var heartbeat = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted);
        try
        {
            while (true)
            {
                heartbeat.CancelAfter(options.Heartbeat);
                bool more;
                try
                {
                    more = await subscriber.Events.WaitToReadAsync(heartbeat.Token);
                }
                catch (OperationCanceledException) when (!http.RequestAborted.IsCancellationRequested)
                {
                    heartbeat.Dispose();
                    heartbeat = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted);
                    body.Write(SseWriter.HeartbeatUtf8);
                    await body.FlushAsync(http.RequestAborted);
                    continue;
                }
                if (!more)
                {
                    reason = subscriber.Overflowed ? "slow" : "closed";
                    return;
                }
                // Every event already buffered goes out in one write.
                var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
                var written = 0;
                while (subscriber.Events.TryRead(out var e))
                {
                    if (last is { } sent)
                    {
                        if (e.Id <= sent)
                        {
                            continue;
                        }
                        last = e.Id;
                    }
                    body.Write(e.Frame.Span);
                    written++;
                    if (e.IngestedAtMs > 0)
                    {
                        metrics.Latency.Record(now - e.IngestedAtMs);
                    }
                }
                metrics.Delivered.Add(written);
                await body.FlushAsync(http.RequestAborted);
            }
        }
        catch (OperationCanceledException)
        {
            reason = "client";
        }
        finally
        {
            heartbeat.Dispose();
            metrics.Disconnects.Add(1, new KeyValuePair<string, object?>("reason", reason));
        }
    }

    private static async Task AllRunsAsync(HttpContext http, Hub hub, IOptions<GatewayOptions> options, GatewayMetrics metrics)
    {
        // One subscriber sees every partition's events, each partition in its own order.
        var (subscriber, _) = hub.Subscribe(0, _ => true, options.Value.ClientBuffer);
        try
        {
            SseWriter.Prepare(http.Response);
            await http.Response.WriteAsync(SseWriter.Retry(options.Value.Retry), http.RequestAborted);
            await http.Response.Body.FlushAsync(http.RequestAborted);
            await SendLiveAsync(http, subscriber, last: null, options.Value, metrics);
        }
        finally
        {
            hub.Unsubscribe(subscriber);
        }
    }

    private static async Task LeaderboardAsync(HttpContext http, LeaderboardFeed feed, IOptions<GatewayOptions> options, GatewayMetrics metrics)
    {
        using var connected = metrics.LeaderboardClient();
        try
        {
            SseWriter.Prepare(http.Response);
            await http.Response.WriteAsync(SseWriter.Retry(options.Value.Retry), http.RequestAborted);
            await http.Response.Body.FlushAsync(http.RequestAborted);
            var sent = feed.Arrive();
            while (!http.RequestAborted.IsCancellationRequested)
            {
                if (await feed.NextAsync(sent, options.Value.Heartbeat, http.RequestAborted) is { } board)
                {
                    await http.Response.Body.WriteAsync(board.Frame, http.RequestAborted);
                    sent = board.Fetch;
                }
                else
                {
                    http.Response.BodyWriter.Write(SseWriter.HeartbeatUtf8);
                }
                await http.Response.Body.FlushAsync(http.RequestAborted);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private static async Task RetryLaterAsync(HttpContext http, GatewayOptions options, GatewayMetrics metrics)
    {
        await SseWriter.RetryLaterAsync(http.Response, options.Retry, "not ready, retry", http.RequestAborted);
        metrics.Disconnects.Add(1, new KeyValuePair<string, object?>("reason", "not_ready"));
    }

    internal static Task Reject(HttpContext http, string field, string message) =>
        Problem.Create(StatusCodes.Status400BadRequest, "invalid-resume", "Invalid stream request", $"{field} {message}",
            [new Arena.Contracts.Validation.ValidationError(0, field, message)]).ToResult().ExecuteAsync(http);

    internal static string Shorten(string text) => text.Length <= 60 ? text : text[..60] + "…";
}
