using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Arena.Contracts;
using Arena.ServiceDefaults;
using Microsoft.Extensions.Options;

namespace Arena.SseGateway;

/// <summary>
/// A stored run played again from the persister's history, framed as the run's stream is
/// (<c>id:</c> = stream ID, <c>event:</c> = type, <c>data:</c> = the envelope), at its original
/// pace divided by <c>?speed=</c>: each event follows the one before it after the difference of
/// their <c>ts</c>, at most <see cref="MaxGap"/> of original time. It ends with a
/// <see cref="SseWriter.ReplayEnd"/> frame and closes. A run still live replays what is stored.
/// </summary>
public static class Replay
{
    public const double MaxSpeed = 1000;

    /// <summary>The longest pause of the original a replay reproduces: a game idle for an hour replays as this.</summary>
    public static readonly TimeSpan MaxGap = TimeSpan.FromSeconds(10);

    /// <summary>Behind its schedule by more than this (a slow client, a slow page), a replay takes its pace from now rather than rushing to catch up.</summary>
    private static readonly TimeSpan MaxLag = TimeSpan.FromSeconds(1);

    public static async Task PlayAsync(HttpContext http, string runId, string? after, string? speed,
        IHttpClientFactory clients, IOptions<GatewayOptions> options)
    {
        if (!EnvelopeRules.Id().IsMatch(runId))
        {
            await SseEndpoints.Reject(http, "run_id", "must be 1 to 128 characters of A-Z a-z 0-9 . _ : -");
            return;
        }
        if (!SseEndpoints.TryResumePoint(http, after, out var resumeField, out var resumeAfter, out var error))
        {
            await SseEndpoints.Reject(http, resumeField, error);
            return;
        }
        if (!TryParseSpeed(speed, out var pace))
        {
            const string Message = "must be a number above 0 and at most 1000 (the original pace divided by it), or max";
            await Problem.Create(StatusCodes.Status400BadRequest, "invalid-replay", "Invalid replay request",
                $"speed '{SseEndpoints.Shorten(speed!)}' {Message}", [new Arena.Contracts.Validation.ValidationError(0, "speed", Message)])
                .ToResult().ExecuteAsync(http);
            return;
        }

        SseWriter.Prepare(http.Response);
        await http.Response.WriteAsync(SseWriter.Retry(options.Value.Retry), http.RequestAborted);
        await http.Response.Body.FlushAsync(http.RequestAborted);
        var persister = clients.CreateClient("persister");
        var last = resumeAfter ?? StreamId.Zero;
        var sent = 0;
        string? lastSent = null;
        DateTimeOffset? previousTs = null;
        var clock = Stopwatch.StartNew();
        var due = TimeSpan.Zero;
        try
        {
            while (true)
            {
                using var response = await persister.GetAsync($"/v1/runs/{runId}/events?after={last}&limit=1000", http.RequestAborted);
                response.EnsureSuccessStatusCode();
                using var page = JsonDocument.Parse(await response.Content.ReadAsStreamAsync(http.RequestAborted));
                var events = page.RootElement.GetProperty("events");
                foreach (var e in events.EnumerateArray())
                {
                    // Read as ingest read it when it accepted the event (leap seconds, any fraction digits).
                    Rfc3339.TryParse(e.GetProperty("ts").GetString()!, out var ts, out _);
                    if (pace is { } divisor && previousTs is { } previous)
                    {
                        var gap = TimeSpan.FromTicks(Math.Clamp((ts - previous).Ticks, 0, MaxGap.Ticks)) / divisor;
                        due = clock.Elapsed - due > MaxLag ? clock.Elapsed : due + gap;
                        await WaitAsync(http, due - clock.Elapsed, options.Value.Heartbeat);
                    }
                    else
                    {
                        // The schedule starts with the first event sent, not with the request.
                        due = clock.Elapsed;
                    }
                    previousTs = ts;
                    var id = StreamId.Parse(e.GetProperty("stream_id").GetString()!);
                    await http.Response.WriteAsync(SseWriter.Frame(id.ToString(), e.GetProperty("type").GetString(), e.GetRawText()), http.RequestAborted);
                    if (pace is not null)
                    {
                        await http.Response.Body.FlushAsync(http.RequestAborted);
                    }
                    last = id;
                    lastSent = id.ToString();
                    sent++;
                }
                if (page.RootElement.GetProperty("next_after").ValueKind == JsonValueKind.Null || events.GetArrayLength() == 0)
                {
                    break;
                }
            }
            await http.Response.WriteAsync(SseWriter.Frame(null, SseWriter.ReplayEnd,
                JsonSerializer.Serialize(new End(runId, sent, lastSent), ReplayJson.Default.End)), http.RequestAborted);
        }
        catch (Exception e) when (HistoryGap.FailureOf(e, http.RequestAborted) is { } failure)
        {
            // The stream ends without its end frame: EventSource comes back with its Last-Event-ID and the replay goes on from there.
            await http.Response.WriteAsync($": history unavailable (persister {failure}), retry\n\n", http.RequestAborted);
        }
        catch (OperationCanceledException)
        {
            return;
        }
        await http.Response.Body.FlushAsync(http.RequestAborted);
    }

    /// <summary>Null for <c>max</c> (no pauses), else the divisor of the original pace; false for anything else.</summary>
    public static bool TryParseSpeed(string? speed, out double? pace)
    {
        pace = 1;
        if (speed is null)
        {
            return true;
        }
        if (speed == "max")
        {
            pace = null;
            return true;
        }
        var ok = double.TryParse(speed, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var value) && value > 0 && value <= MaxSpeed;
        pace = ok ? value : null;
        return ok;
    }

    /// <summary>Waits, with a heartbeat comment whenever a wait outlasts the heartbeat interval, so proxies keep the stream open.</summary>
    private static async Task WaitAsync(HttpContext http, TimeSpan wait, TimeSpan heartbeat)
    {
        while (wait > TimeSpan.Zero)
        {
            var step = wait < heartbeat ? wait : heartbeat;
            await Task.Delay(step, http.RequestAborted);
            wait -= step;
            if (wait > TimeSpan.Zero)
            {
                http.Response.BodyWriter.Write(SseWriter.HeartbeatUtf8);
                await http.Response.BodyWriter.FlushAsync(http.RequestAborted);
            }
        }
    }

    /// <param name="Last">The stream ID of the last event this response sent; null when it sent none.</param>
    internal sealed record End(string RunId, int Events, string? Last);
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(Replay.End))]
internal sealed partial class ReplayJson : JsonSerializerContext;
