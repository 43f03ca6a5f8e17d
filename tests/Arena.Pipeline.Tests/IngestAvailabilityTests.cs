using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Arena.Pipeline.Tests.Infrastructure;

namespace Arena.Pipeline.Tests;

/// <summary>Ingest under a missing Redis, too much load, and bad configuration.</summary>
public sealed class IngestAvailabilityTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Unreachable_redis_gets_503_with_retry_after_quickly_and_recovers()
    {
        await using var redis = await RedisServer.StartAsync(output);
        await using var ingest = await TestServices.Ingest(redis, output).WaitReadyAsync();
        await Events.AcceptedAsync(await Events.PostAsync(ingest.Http, Events.TurnStart("run-1", 1, "run-1:1")));

        await redis.KillAsync();
        var clock = Stopwatch.StartNew();
        var response = await Events.PostAsync(ingest.Http, Events.Array(Events.Run("run-1", 20, firstSeq: 2)));
        clock.Stop();

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(1), response.Headers.RetryAfter?.Delta);
        Assert.Contains("redis-unavailable", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        // The retry budget is 2 s by default; the request must not hang beyond it.
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"took {clock.Elapsed}");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await ingest.Http.GetAsync("/readyz")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await ingest.Http.GetAsync("/healthz")).StatusCode);

        if (redis.Mode != "local redis-server")
        {
            return;
        }
        await redis.RestartAsync();
        await ingest.WaitReadyAsync();
        // The first event survived the restart (AOF); re-sending it is still a duplicate.
        var again = await Events.AcceptedAsync(await Events.PostAsync(ingest.Http, Events.TurnStart("run-1", 1, "run-1:1")));
        Assert.True(Assert.Single(again).Duplicate);
    }

    [Fact]
    public async Task Requests_beyond_the_concurrency_limit_get_429()
    {
        await using var redis = await RedisServer.StartAsync(output);
        await using var ingest = await TestServices.Ingest(redis, output, new Dictionary<string, string>
        {
            ["Ingest__MaxConcurrentRequests"] = "1",
            ["Ingest__RedisBudget"] = "00:00:30",
        }).WaitReadyAsync();

        // With Redis holding back writes, whichever request takes the only permit waits in its
        // publish, and the other is refused at once. The pause ends by itself should the test fail.
        await redis.CliAsync("CLIENT", "PAUSE", "20000", "WRITE");
        var requests = new[] { 1, 2 }.Select(seq => Events.PostAsync(ingest.Http, Events.TurnStart("run-2", seq, $"run-2:{seq}"))).ToList();
        var first = await Task.WhenAny(requests);
        var rejected = await first;
        await redis.CliAsync("CLIENT", "UNPAUSE");

        Assert.Equal(HttpStatusCode.TooManyRequests, rejected.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(1), rejected.Headers.RetryAfter?.Delta);
        Assert.Contains("limit of concurrent requests", await rejected.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        await Events.AcceptedAsync(await requests.Single(r => r != first));
        // The permit is free again once the held request has been answered.
        await Events.AcceptedAsync(await Events.PostAsync(ingest.Http, Events.TurnStart("run-2", 3, "run-2:3")));
    }

    [Fact]
    public async Task A_body_still_arriving_holds_no_permit()
    {
        await using var redis = await RedisServer.StartAsync(output);
        await using var ingest = await TestServices.Ingest(redis, output, new Dictionary<string, string>
        {
            ["Ingest__MaxConcurrentRequests"] = "1",
        }).WaitReadyAsync();

        // Headers and the first byte of the body on the wire, the rest held back.
        var evt = Events.TurnStart("run-3", 1, "run-3:1");
        using var held = new TcpClient();
        await held.ConnectAsync(IPAddress.Loopback, ingest.Port);
        var wire = held.GetStream();
        await wire.WriteAsync(Encoding.ASCII.GetBytes(
            $"POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {evt.Length}\r\n\r\n{evt[..1]}"));

        await Events.AcceptedAsync(await Events.PostAsync(ingest.Http, Events.TurnStart("run-3", 2, "run-3:2")));

        await wire.WriteAsync(Encoding.ASCII.GetBytes(evt[1..]));
        using var reader = new StreamReader(wire, Encoding.ASCII);
        Assert.StartsWith("HTTP/1.1 202", await reader.ReadLineAsync());
    }

    [Theory]
    [InlineData("Arena__Partitions", "0", "Partitions")]
    [InlineData("Ingest__MaxEvents", "-1", "MaxEvents")]
    [InlineData("Arena__Redis", "127.0.0.1:6379,bogusOption=1", "Arena:Redis")]
    public async Task Invalid_configuration_stops_the_service_with_a_clear_message(string key, string value, string named)
    {
        await using var redis = await RedisServer.StartAsync(output);
        await using var ingest = TestServices.Ingest(redis, output, new Dictionary<string, string> { [key] = value });

        var exit = await ingest.WaitForExitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(2, exit);
        Assert.Contains("Invalid configuration", ingest.Output, StringComparison.Ordinal);
        Assert.Contains(named, ingest.Output, StringComparison.Ordinal);
    }
}
