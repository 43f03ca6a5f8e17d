using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using Arena.Contracts;
using Arena.Pipeline.Tests.Infrastructure;

namespace Arena.Pipeline.Tests.HostileInput;

/// <summary>
/// Clients that send their bodies slowly, against a real ingest process: they are cut off in
/// seconds, write nothing, and neither their number nor their bodies make ingest refuse or
/// slow down a producer that sends at a normal pace.
/// </summary>
public sealed class SlowBodyTests(ITestOutputHelper output) : PipelineTest(output)
{
    private const int SlowClients = 300;
    private static readonly TimeSpan AttackLength = TimeSpan.FromSeconds(10);
    /// <summary>Ingest's default grace before a body must keep to its minimum rate, plus room for a loaded machine.</summary>
    private static readonly TimeSpan CutOffBound = TimeSpan.FromSeconds(2) + TimeSpan.FromSeconds(5);

    [Fact]
    public async Task Three_hundred_slow_bodies_are_cut_off_write_nothing_and_a_normal_producer_keeps_getting_202_quickly()
    {
        await using var ingest = await TestServices.Ingest(Redis, Output).WaitReadyAsync();
        var producer = new SteadyProducer(ingest.Http);
        await producer.PostAsync(5); // warm-up: the first requests pay for JIT and connections
        var baseline = await producer.PostAsync(60);

        // Each slow client posts again as soon as it is cut off, so the attack holds 300 connections for its whole length.
        var opened = 0;
        using var attack = new CancellationTokenSource(AttackLength);
        var slow = Enumerable.Range(0, SlowClients).Select(i => KeepSendingSlowlyAsync(ingest.Port, i, () => Interlocked.Increment(ref opened), attack.Token)).ToArray();
        await Wait.UntilAsync(() => Volatile.Read(ref opened) >= SlowClients, $"{SlowClients} slow clients to send their headers", TimeSpan.FromSeconds(20));
        var underAttack = await producer.PostUntilAsync(attack.Token);
        var outcomes = (await Task.WhenAll(slow)).SelectMany(o => o).ToList();

        Output.WriteLine(Describe("baseline", baseline));
        Output.WriteLine(Describe($"under {SlowClients} slow clients", underAttack));
        Output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"slow requests: {outcomes.Count}, answered 408: {outcomes.Count(o => o.Status == 408)}, closed: {outcomes.Count(o => o.Status is null)}, "
            + $"cut off after at most {outcomes.Max(o => o.After).TotalSeconds:F1} s"));

        Assert.All(underAttack, r => Assert.Equal(HttpStatusCode.Accepted, r.Status));
        // Generous for a loaded 2-core machine; a slow client holding a permit fails the 202s above, not this.
        var bound = TimeSpan.FromMilliseconds(Math.Max(10 * Percentile(baseline, 0.99).TotalMilliseconds, 2000));
        Assert.True(Percentile(underAttack, 0.99) < bound, $"p99 under attack {Percentile(underAttack, 0.99).TotalMilliseconds:F0} ms, bound {bound.TotalMilliseconds:F0} ms");

        Assert.All(outcomes, o =>
        {
            Assert.True(o.Cut, $"a slow client was still connected after {o.After}");
            Assert.True(o.Status is null or 408, $"a slow client got {o.Status}");
            Assert.True(o.After < CutOffBound, $"a slow client was cut off after {o.After}, beyond {CutOffBound}");
        });
        Assert.Equal(producer.Accepted, await Db.StreamLengthAsync(StreamKeys.Events(0)));
        var answered408 = outcomes.Count(o => o.Status == 408);
        await Wait.UntilAsync(async () => Rejected408(await ingest.Http.GetStringAsync("/metrics")) >= answered408,
            $"{answered408} requests counted as rejected with 408", TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task Bodies_beyond_the_memory_for_bodies_get_429_and_a_body_cut_off_gives_its_memory_back()
    {
        await using var ingest = await TestServices.Ingest(Redis, Output, new Dictionary<string, string>
        {
            ["Ingest__MaxBodyBytes"] = "65536",
            ["Ingest__MaxBufferedBodyBytes"] = "131072",
            ["Ingest__BodyTimeout"] = "00:00:03",
        }).WaitReadyAsync();

        // Two bodies that stop short of their Content-Length hold nearly all the memory for bodies.
        var stalled = Enumerable.Range(0, 2).Select(_ => StallAsync(ingest.Port, 65536, 60000)).ToArray();
        await Wait.UntilAsync(async () => Buffered(await ingest.Http.GetStringAsync("/metrics")) >= 2 * 60000,
            "the stalled bodies to be buffered", TimeSpan.FromSeconds(10));

        var body = Events.Array(Events.Run("budget", 40).Select(e => e.Replace("\"p1\"", $"\"p1\",\"pad\":\"{new string('x', 400)}\"", StringComparison.Ordinal)));
        using var refused = await Events.PostAsync(ingest.Http, body);
        var problem = await Fuzz.AssertProblemAsync(refused, 429, "a body beyond the memory for bodies");
        Assert.Equal("too-many-requests", problem.GetProperty("type").GetString()?.Split('/')[^1]);
        Assert.Equal(TimeSpan.FromSeconds(1), refused.Headers.RetryAfter?.Delta);

        foreach (var cut in await Task.WhenAll(stalled))
        {
            Assert.Equal(408, cut.Status);
            Assert.Contains("did not arrive within 3 s", cut.Body, StringComparison.Ordinal);
        }
        Assert.Equal(0, await Db.StreamLengthAsync(StreamKeys.Events(0)));
        await Wait.UntilAsync(async () => Buffered(await ingest.Http.GetStringAsync("/metrics")) == 0, "the memory for bodies to be given back", TimeSpan.FromSeconds(10));
        Assert.Equal(40, (await Events.AcceptedAsync(await Events.PostAsync(ingest.Http, body))).Count);
    }

    private static async Task<List<SlowBodyOutcome>> KeepSendingSlowlyAsync(int port, int client, Action opened, CancellationToken attack)
    {
        var body = Encoding.UTF8.GetBytes(Events.TurnStart($"slow-{client}", 1, $"slow-{client}:1"));
        var head = $"POST /v1/events HTTP/1.1\nHost: 127.0.0.1\nContent-Type: application/json\nContent-Length: {100 * 1024}\n";
        var outcomes = new List<SlowBodyOutcome>();
        do
        {
            outcomes.Add(await SlowBody.SendAsync(port, head, body, TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(40), outcomes.Count == 0 ? opened : null));
        }
        while (!attack.IsCancellationRequested);
        return outcomes;
    }

    /// <summary>Sends the headers and <paramref name="sent"/> bytes of a <paramref name="announced"/>-byte body, then nothing; the server's answer.</summary>
    private static async Task<RawResponse> StallAsync(int port, int announced, int sent)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, port);
        var wire = client.GetStream();
        await wire.WriteAsync(Encoding.ASCII.GetBytes(
            $"POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {announced}\r\n\r\n"));
        await wire.WriteAsync(Encoding.ASCII.GetBytes("[" + new string(' ', sent - 1)));
        using var reader = new StreamReader(wire, Encoding.ASCII);
        var status = int.Parse((await reader.ReadLineAsync())!.Split(' ')[1], CultureInfo.InvariantCulture);
        string? line;
        while (!string.IsNullOrEmpty(line = await reader.ReadLineAsync()))
        {
        }
        var body = new char[4096];
        var read = await reader.ReadAsync(body);
        return new RawResponse(status, null, new string(body, 0, read));
    }

    private static long Rejected408(string metrics) =>
        Regex.Matches(metrics, @"^arena_ingest_requests_rejected_total\{[^}]*status=""408""[^}]*\} (\d+)", RegexOptions.Multiline)
            .Sum(m => long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture));

    private static long Buffered(string metrics) =>
        Regex.Match(metrics, @"^arena_ingest_bodies_buffered_bytes(?:\{[^}]*\})? (\d+)", RegexOptions.Multiline) is { Success: true } m
            ? long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)
            : throw new InvalidOperationException($"no arena_ingest_bodies_buffered_bytes in:\n{metrics}");

    private static TimeSpan Percentile(IReadOnlyList<SteadyProducer.Response> responses, double p)
    {
        var sorted = responses.Select(r => r.Latency).Order().ToList();
        return sorted[Math.Max(0, (int)Math.Ceiling(p * sorted.Count) - 1)];
    }

    private static string Describe(string phase, IReadOnlyList<SteadyProducer.Response> responses) => string.Create(CultureInfo.InvariantCulture,
        $"{phase}: {responses.Count} requests, p50 {Percentile(responses, 0.5).TotalMilliseconds:F1} ms, p99 {Percentile(responses, 0.99).TotalMilliseconds:F1} ms, "
        + $"statuses {string.Join(", ", responses.GroupBy(r => (int)r.Status).Select(g => $"{g.Key}×{g.Count()}"))}");

    /// <summary>A producer posting batches of ten events one request after another, as a harness does.</summary>
    private sealed class SteadyProducer(HttpClient http)
    {
        public sealed record Response(HttpStatusCode Status, TimeSpan Latency);

        private int _seq;

        public long Accepted { get; private set; }

        public async Task<List<Response>> PostAsync(int requests)
        {
            var responses = new List<Response>();
            for (var i = 0; i < requests; i++)
            {
                responses.Add(await PostBatchAsync());
            }
            return responses;
        }

        public async Task<List<Response>> PostUntilAsync(CancellationToken stop)
        {
            var responses = new List<Response>();
            while (!stop.IsCancellationRequested)
            {
                responses.Add(await PostBatchAsync());
            }
            return responses;
        }

        private async Task<Response> PostBatchAsync()
        {
            var batch = Events.Array(Events.Run("steady", 10, firstSeq: _seq + 1));
            _seq += 10;
            var clock = Stopwatch.StartNew();
            using var response = await Events.PostAsync(http, batch);
            await response.Content.ReadAsByteArrayAsync();
            clock.Stop();
            if (response.StatusCode == HttpStatusCode.Accepted)
            {
                Accepted += 10;
            }
            return new Response(response.StatusCode, clock.Elapsed);
        }
    }
}
