using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Arena.Pipeline.Tests.Infrastructure;

namespace Arena.Pipeline.Tests;

/// <summary>
/// The gateway's connection limits against a client that opens streams without end, as real
/// processes over loopback: the flood gets short empty 200s (EventSource would stop for good on
/// anything else), while other clients on the same machine are served.
/// </summary>
public sealed partial class SseConnectionLimitTests(ITestOutputHelper output) : PipelineTest(output)
{
    protected override IDictionary<string, string>? IngestSettings => new Dictionary<string, string>();

    private const string Admitted = "retry: 2000";
    private const string Refused = "retry: 30000";

    [Fact]
    public async Task Flood_beyond_the_per_client_limit_is_refused_while_another_token_on_the_same_machine_receives_events()
    {
        const int PerClient = 8;
        await using var gateway = await TestServices.Gateway(Redis, Output, settings: new Dictionary<string, string>
        {
            ["Arena__ReadToken"] = "flood-token,good-token",
            ["SseGateway__MaxConnectionsPerClient"] = PerClient.ToString(CultureInfo.InvariantCulture),
            // Loopback is shared by default (a proxy on the machine): here it is an ordinary client.
            ["SseGateway__SharedAddresses"] = "",
        }).WaitReadyAsync();
        using var http = Http(gateway);
        using var stop = new CancellationTokenSource();
        var held = await HoldAsync(http, "/v1/runs/run-f/stream?from=live&access_token=flood-token", PerClient);
        var good = new TimedClient(http, "run-f", "from=live&access_token=good-token", total: 60);
        await good.ConnectedAsync();

        var before = await good.LatenciesAsync(Ingest.Http, first: 1, count: 20);
        // Four connections at once ask for more, on every stream, for as long as the good client is measured.
        var floods = Enumerable.Range(0, 4).Select(i => Flood.Start(http, i switch
        {
            0 => "/v1/runs/run-f/stream?access_token=flood-token",
            1 => "/v1/stream?access_token=flood-token",
            2 => "/v1/leaderboard/stream?access_token=flood-token",
            _ => "/v1/runs/run-f/stream?from=live&access_token=flood-token",
        }, stop.Token)).ToList();
        await Wait.UntilAsync(() => floods.Sum(f => f.Refusals) >= 100, "the flood to be refused 100 times");
        var during = await good.LatenciesAsync(Ingest.Http, first: 21, count: 40);
        await stop.CancelAsync();
        await Task.WhenAll(floods.Select(f => f.Running));

        var refusals = floods.Sum(f => f.Refusals);
        Assert.All(floods, f => Assert.Equal(0, f.Admissions));
        Assert.Equal(Enumerable.Range(1, 60).Select(i => (long)i), await good.SeqsAsync());
        var metrics = await gateway.Http.GetStringAsync("/metrics");
        Assert.InRange(RefusedCount(metrics, "per_client"), refusals, long.MaxValue);
        Assert.Equal(0, RefusedCount(metrics, "total"));
        var times = floods.SelectMany(f => f.Times).Order().ToList();
        Output.WriteLine($"{refusals} refusals, each answered in {Percentile(times, 0.5):F1} ms median, {Percentile(times, 0.99):F1} ms p99");
        Output.WriteLine($"good client, post to receipt: before the flood {Describe(before)}; during it {Describe(during)}");
        // A loose bound on a shared 2-core machine: the flood must not starve the good client.
        Assert.True(Percentile(during, 0.5) < 1000, $"during the flood: {Describe(during)}");
        foreach (var response in held)
        {
            response.Dispose();
        }
    }

    [Fact]
    public async Task Another_address_connects_while_one_address_is_at_its_limit()
    {
        const int PerClient = 4;
        await using var gateway = await TestServices.Gateway(Redis, Output, settings: new Dictionary<string, string>
        {
            ["SseGateway__MaxConnectionsPerClient"] = PerClient.ToString(CultureInfo.InvariantCulture),
            // Loopback is shared by default (a proxy on the machine): here it is an ordinary client.
            ["SseGateway__SharedAddresses"] = "",
        }).WaitReadyAsync();
        using var http = Http(gateway);
        var held = await HoldAsync(http, "/v1/runs/run-a/stream?from=live", PerClient);

        var (refusal, _) = await FirstLineAsync(http, "/v1/runs/run-a/stream?from=live");
        using var fromElsewhere = FromAddress.Client(IPAddress.Parse("127.0.0.2"), gateway.Url);
        var other = new TimedClient(fromElsewhere, "run-a", "from=live", total: 5);
        await other.ConnectedAsync();
        await other.LatenciesAsync(Ingest.Http, first: 1, count: 5);

        Assert.Equal(Refused, refusal);
        Assert.Equal(Enumerable.Range(1, 5).Select(i => (long)i), await other.SeqsAsync());
        Assert.Equal(1, RefusedCount(await gateway.Http.GetStringAsync("/metrics"), "per_client"));
        foreach (var response in held)
        {
            response.Dispose();
        }
    }

    [Fact]
    public async Task Total_limit_counts_every_stream_and_frees_a_place_when_a_client_leaves()
    {
        await using var gateway = await TestServices.Gateway(Redis, Output, settings: new Dictionary<string, string>
        {
            ["SseGateway__MaxConnections"] = "3",
        }).WaitReadyAsync();
        using var http = Http(gateway);
        var held = new List<HttpResponseMessage>();
        foreach (var path in new[] { "/v1/runs/run-t/stream", "/v1/stream", "/v1/leaderboard/stream" })
        {
            held.AddRange(await HoldAsync(http, path, 1));
        }

        var refused = new List<string>();
        foreach (var path in new[] { "/v1/runs/run-t/stream", "/v1/stream", "/v1/leaderboard/stream" })
        {
            var (line, body) = await FirstLineAsync(http, path);
            refused.Add(line);
            Assert.Contains(": over the limit of 3 connections in total, retry later", body, StringComparison.Ordinal);
        }
        held[0].Dispose();
        string? admitted = null;
        await Wait.UntilAsync(async () =>
        {
            var response = await http.GetAsync("/v1/stream", HttpCompletionOption.ResponseHeadersRead);
            var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
            admitted = await reader.ReadLineAsync();
            if (admitted == Admitted)
            {
                held[0] = response;
                return true;
            }
            response.Dispose();
            return false;
        }, "a place to free up after a client left");

        Assert.All(refused, line => Assert.Equal(Refused, line));
        var metrics = await gateway.Http.GetStringAsync("/metrics");
        Assert.InRange(RefusedCount(metrics, "total"), 3, long.MaxValue);
        Assert.Equal(0, RefusedCount(metrics, "per_client"));
        foreach (var response in held)
        {
            response.Dispose();
        }
    }

    private static HttpClient Http(ServiceProcess gateway) => new() { BaseAddress = gateway.Url, Timeout = Timeout.InfiniteTimeSpan };

    /// <summary>Opens <paramref name="count"/> streams and keeps them open: each has been admitted once its retry hint arrived.</summary>
    private static async Task<List<HttpResponseMessage>> HoldAsync(HttpClient http, string url, int count)
    {
        var held = new List<HttpResponseMessage>();
        for (var i = 0; i < count; i++)
        {
            var response = await http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead);
            var first = await new StreamReader(await response.Content.ReadAsStreamAsync()).ReadLineAsync();
            Assert.Equal(Admitted, first);
            held.Add(response);
        }
        return held;
    }

    /// <summary>The first line of a stream that is expected to end at once, and its whole body.</summary>
    private static async Task<(string Line, string Body)> FirstLineAsync(HttpClient http, string url)
    {
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var response = await http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, cancel.Token);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        var body = await response.Content.ReadAsStringAsync(cancel.Token);
        return (body.Split('\n')[0], body);
    }

    /// <summary>Asks for a stream again and again until stopped, counting what it got.</summary>
    private sealed class Flood
    {
        public int Refusals;
        public int Admissions;
        public List<double> Times { get; } = [];
        public Task Running { get; private set; } = Task.CompletedTask;

        public static Flood Start(HttpClient http, string url, CancellationToken stop)
        {
            var flood = new Flood();
            flood.Running = Task.Run(() => flood.RunAsync(http, url, stop), CancellationToken.None);
            return flood;
        }

        private async Task RunAsync(HttpClient http, string url, CancellationToken stop)
        {
            while (!stop.IsCancellationRequested)
            {
                var started = Stopwatch.GetTimestamp();
                using var response = await http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, CancellationToken.None);
                using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(CancellationToken.None));
                if (await reader.ReadLineAsync(CancellationToken.None) != Refused)
                {
                    Interlocked.Increment(ref Admissions);
                    continue;
                }
                await reader.ReadToEndAsync(CancellationToken.None);
                lock (Times)
                {
                    Times.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                }
                Interlocked.Increment(ref Refusals);
            }
        }
    }

    /// <summary>A live client of one run that notes when each event arrives, until it has <c>total</c> of them.</summary>
    private sealed class TimedClient
    {
        private readonly List<long> _arrivals = [];
        private readonly TaskCompletionSource _connected = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly Task<List<SseEvent>> _reading;
        private readonly string _runId;

        public TimedClient(HttpClient http, string runId, string query, int total)
        {
            _runId = runId;
            _reading = SseClient.ReadAsync(http, $"/v1/runs/{runId}/stream?{query}", null, events =>
            {
                lock (_arrivals)
                {
                    while (_arrivals.Count < events.Count)
                    {
                        _arrivals.Add(Stopwatch.GetTimestamp());
                    }
                }
                return events.Count >= total;
            }, TimeSpan.FromMinutes(3), () => _connected.TrySetResult());
        }

        public Task ConnectedAsync() => _connected.Task.WaitAsync(TimeSpan.FromSeconds(30));

        private int Arrived
        {
            get
            {
                lock (_arrivals)
                {
                    return _arrivals.Count;
                }
            }
        }

        /// <summary>Posts events <paramref name="first"/>.. one at a time and measures each from the post to its arrival here, in ms.</summary>
        public async Task<List<double>> LatenciesAsync(HttpClient ingest, int first, int count)
        {
            var latencies = new List<double>();
            for (var seq = first; seq < first + count; seq++)
            {
                var posted = Stopwatch.GetTimestamp();
                await Events.AcceptedAsync(await Events.PostAsync(ingest, Events.Array(Events.Run(_runId, 1, seq))));
                await Wait.UntilAsync(() => Arrived >= seq, $"event {seq} to arrive");
                lock (_arrivals)
                {
                    latencies.Add(Stopwatch.GetElapsedTime(posted, _arrivals[seq - 1]).TotalMilliseconds);
                }
            }
            return latencies;
        }

        /// <summary>The <c>seq</c> of every event received, once all have arrived.</summary>
        public async Task<List<long>> SeqsAsync() =>
            [.. (await _reading).Select(e => System.Text.Json.JsonDocument.Parse(e.Data).RootElement.GetProperty("seq").GetInt64())];
    }

    private static long RefusedCount(string metrics, string reason) =>
        RefusedLine().Matches(metrics).Where(m => m.Groups[1].Value == reason).Sum(m => long.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture));

    [GeneratedRegex(@"arena_sse_refused_total\{[^}]*reason=""([a-z_]+)""[^}]*\} (\d+)")]
    private static partial Regex RefusedLine();

    private static double Percentile(List<double> values, double p)
    {
        var sorted = values.Order().ToList();
        return sorted[(int)Math.Min(sorted.Count - 1, Math.Floor(p * sorted.Count))];
    }

    private static string Describe(List<double> latencies) =>
        string.Create(CultureInfo.InvariantCulture, $"{Percentile(latencies, 0.5):F1} ms median, {latencies.Max():F1} ms max over {latencies.Count} events");
}
