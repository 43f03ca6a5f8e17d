using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text.Json;
using Arena.Contracts;
using Arena.Harness;

namespace Arena.Chaos;

/// <summary>
/// The hostile clients of a soak, running beside the producers until they stop: bodies sent a
/// byte at a time, SSE connection floods beyond the gateway's per-client limit, events over the
/// size limit and large ones within it, forged types and runs the pipeline reserves. Every
/// answer is counted by kind; <see cref="Expected"/> says what each kind must get.
/// </summary>
public sealed class HostileClients(ChaosOptions options, ChaosPipeline pipeline, Producers producers) : IDisposable
{
    public const string SlowBody = "slow body (100 KiB announced, 1 byte per 500 ms)";
    public const string SseFlood = "SSE flood beyond the per-client limit";
    public const string Oversized = "event over the 64 KiB limit";
    public const string Large = "60 KB observation (ledgered)";
    public const string ForgedOverflow = "forged stream_overflow";
    public const string ForgedLeaderboard = "forged leaderboard_updated";
    public const string ForgedRun = "event in the pipeline's own run";

    /// <summary>What each kind must be answered; a slow body's connection may also be closed without an answer.</summary>
    public static IReadOnlyDictionary<string, string[]> Expected { get; } = new Dictionary<string, string[]>
    {
        [SlowBody] = ["408", "closed"],
        [SseFlood] = ["held", "refused"],
        [Oversized] = ["413"],
        [Large] = ["202"],
        [ForgedOverflow] = ["400"],
        [ForgedLeaderboard] = ["400"],
        [ForgedRun] = ["400"],
    };

    private const int SlowClients = 64;
    private const int FloodBeyondLimit = 24;
    private static readonly TimeSpan ByteInterval = TimeSpan.FromMilliseconds(500);
    private static readonly TimeSpan RefusalWait = TimeSpan.FromSeconds(3);
    private static readonly TimeSpan Pause = TimeSpan.FromSeconds(2);

    // The gateway budgets connections per address: the flood comes from another loopback
    // address than the well-behaved SSE clients, so it exhausts its own budget, not theirs.
    private static readonly IPAddress FloodAddress = IPAddress.Parse("127.0.0.2");

    private readonly HttpClient _ingest = new() { BaseAddress = pipeline[Services.Ingest].Url, Timeout = TimeSpan.FromSeconds(30) };
    private int _mostHeld;

    /// <summary>The gateway's per-client limit in a soak: room for every SSE client to reconnect before its old connection is released.</summary>
    public static int ConnectionsPerClient(ChaosOptions options) => 2 * options.SseClients + 8;

    public ConcurrentDictionary<(string Kind, string Answer), long> Answers { get; } = new();

    /// <summary>The most flood connections the gateway held open at once.</summary>
    public int MostHeld => Volatile.Read(ref _mostHeld);

    public long Count(string kind, string answer) => Answers.GetValueOrDefault((kind, answer));

    /// <summary>Runs every hostile client while <paramref name="producing"/>; each finishes what it has under way, then stops.</summary>
    public Task RunAsync(Func<bool> producing) =>
        Task.WhenAll(Enumerable.Range(0, SlowClients).Select(i => Task.Run(() => SendSlowBodiesAsync(i, producing)))
            .Append(Task.Run(() => FloodAsync(producing)))
            .Append(Task.Run(() => SendEventsAsync(producing))));

    private void Record(string kind, string answer) => Answers.AddOrUpdate((kind, answer), 1, (_, n) => n + 1);

    private async Task SendSlowBodiesAsync(int client, Func<bool> producing)
    {
        var head = $"POST /v1/events HTTP/1.1\nHost: 127.0.0.1\nContent-Type: application/json\nContent-Length: {100 * 1024}\n";
        var body = new byte[100 * 1024];
        Array.Fill(body, (byte)' ');
        // Spread over the first ByteInterval × 2 so the clients do not all reconnect in step.
        await Task.Delay(client * 2 * ByteInterval / SlowClients);
        while (producing())
        {
            try
            {
                var outcome = await Harness.SlowBody.SendAsync(pipeline[Services.Ingest].Url.Port, head, body, ByteInterval, TimeSpan.FromSeconds(40));
                Record(SlowBody, outcome.Status?.ToString(CultureInfo.InvariantCulture) ?? (outcome.Cut ? "closed" : "still open after 40 s"));
            }
            catch (Exception e) when (e is SocketException or IOException)
            {
                Record(SlowBody, e.GetType().Name);
            }
        }
    }

    /// <summary>Rounds of the per-client limit plus more connections at once, all held until every one is answered.</summary>
    private async Task FloodAsync(Func<bool> producing)
    {
        using var http = FromAddress.Client(FloodAddress, pipeline[Services.Gateway].Url);
        var path = string.Create(CultureInfo.InvariantCulture, $"v1/runs/chaos-{options.Seed}-flood/stream?from=live");
        while (producing())
        {
            var opened = await Task.WhenAll(Enumerable.Range(0, ConnectionsPerClient(options) + FloodBeyondLimit).Select(_ => OpenAsync(http, path)));
            var held = opened.Where(o => o is not null).ToList();
            Volatile.Write(ref _mostHeld, Math.Max(MostHeld, held.Count));
            foreach (var connection in held)
            {
                connection!.Dispose();
            }
            await Task.Delay(Pause);
        }
    }

    /// <summary>Opens one flood connection: the response while the gateway holds it open, null once the answer is counted and over.</summary>
    private async Task<HttpResponseMessage?> OpenAsync(HttpClient http, string path)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        HttpResponseMessage response;
        try
        {
            response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        }
        catch (HttpRequestException e)
        {
            Record(SseFlood, e.GetType().Name);
            return null;
        }
        if (response.StatusCode != HttpStatusCode.OK)
        {
            Record(SseFlood, ((int)response.StatusCode).ToString(CultureInfo.InvariantCulture));
            response.Dispose();
            return null;
        }
        var reading = new StreamReader(await response.Content.ReadAsStreamAsync()).ReadToEndAsync();
        if (await Task.WhenAny(reading, Task.Delay(RefusalWait)) != reading)
        {
            Record(SseFlood, "held");
            // Observed once the round closes the connection under it.
            _ = reading.ContinueWith(t => t.Exception, TaskScheduler.Default);
            return response;
        }
        response.Dispose();
        string text;
        try
        {
            text = await reading;
        }
        catch (Exception e) when (e is HttpRequestException or IOException)
        {
            Record(SseFlood, "broken: " + e.GetType().Name);
            return null;
        }
        Record(SseFlood, text.Contains("over the limit", StringComparison.Ordinal) ? "refused" : "ended without a refusal");
        return null;
    }

    /// <summary>Every couple of seconds: an oversized event, a large valid one through the ledger, and the three forgeries.</summary>
    private async Task SendEventsAsync(Func<bool> producing)
    {
        var largeRun = string.Create(CultureInfo.InvariantCulture, $"chaos-{options.Seed}-large");
        for (var seq = 1L; producing(); seq++)
        {
            var now = DateTimeOffset.UtcNow;
            await PostAsync(Oversized, Envelope.Create(largeRun, seq, EventTypes.Observation, now, Observation(80_000)));
            var large = Envelope.Create(largeRun, seq, EventTypes.Observation, now, Observation(60_000), string.Create(CultureInfo.InvariantCulture, $"{largeRun}:{seq}"));
            await producers.PostAcceptedAsync(JsonSerializer.SerializeToUtf8Bytes(large, ArenaJson.Default.Envelope), largeRun, CancellationToken.None);
            Record(Large, "202");
            await PostAsync(ForgedOverflow, Envelope.Create(largeRun, seq, EventTypes.StreamOverflow, now, new StreamOverflow(StreamKeys.Events(0), 0, "persister", "1-0", "2-0", 2)));
            await PostAsync(ForgedLeaderboard, Envelope.Create(largeRun, seq, EventTypes.LeaderboardUpdated, now, new LeaderboardUpdated(1, 2, "gpt-5")));
            await PostAsync(ForgedRun, Envelope.Create(PipelineRun.Id, seq, EventTypes.TurnStart, now, new TurnStart(1, "p1")));
            await Task.Delay(Pause);
        }
    }

    private static Observation Observation(int characters)
    {
        using var text = JsonDocument.Parse("\"" + new string('x', characters) + "\"");
        return new Observation(1, "p1", text.RootElement.Clone());
    }

    private async Task PostAsync(string kind, Envelope envelope)
    {
        using var content = new ByteArrayContent(JsonSerializer.SerializeToUtf8Bytes(envelope, ArenaJson.Default.Envelope));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        try
        {
            using var response = await _ingest.PostAsync("v1/events", content);
            Record(kind, ((int)response.StatusCode).ToString(CultureInfo.InvariantCulture));
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            Record(kind, e.GetType().Name);
        }
    }

    public void Dispose() => _ingest.Dispose();
}
