using System.Diagnostics;
using System.Net;
using Arena.Pipeline.Tests.Infrastructure;

namespace Arena.Pipeline.Tests;

/// <summary>Ingest under a missing Redis, too much load, and bad configuration.</summary>
public sealed class IngestAvailabilityTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Unreachable_redis_gets_503_with_retry_after_quickly_and_recovers()
    {
        await using var redis = await RedisServer.StartAsync(output);
        await using var ingest = await ServiceProcess.Ingest(redis, output).WaitReadyAsync();
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
        await using var ingest = await ServiceProcess.Ingest(redis, output, new Dictionary<string, string>
        {
            ["Ingest__MaxConcurrentRequests"] = "1",
        }).WaitReadyAsync();

        // The first request holds the only slot while its body is still arriving.
        var body = new HeldContent(Events.TurnStart("run-2", 1, "run-2:1"));
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/events") { Content = body };
        var held = ingest.Http.SendAsync(request);
        await body.Started.Task.WaitAsync(TimeSpan.FromSeconds(30));

        HttpResponseMessage? rejected = null;
        await Wait.UntilAsync(async () =>
        {
            rejected = await Events.PostAsync(ingest.Http, Events.TurnStart("run-2", 2, "run-2:2"));
            return rejected.StatusCode == HttpStatusCode.TooManyRequests;
        }, "a 429 while the slot is held", TimeSpan.FromSeconds(20));
        body.Release();

        Assert.NotNull(rejected!.Headers.RetryAfter);
        Assert.Equal(HttpStatusCode.Accepted, (await held).StatusCode);
        await Events.AcceptedAsync(await Events.PostAsync(ingest.Http, Events.TurnStart("run-2", 2, "run-2:2")));
    }

    [Theory]
    [InlineData("Arena__Partitions", "0", "Partitions")]
    [InlineData("Ingest__MaxEvents", "-1", "MaxEvents")]
    [InlineData("Arena__Redis", "127.0.0.1:6379,bogusOption=1", "Arena:Redis")]
    public async Task Invalid_configuration_stops_the_service_with_a_clear_message(string key, string value, string named)
    {
        await using var redis = await RedisServer.StartAsync(output);
        await using var ingest = ServiceProcess.Ingest(redis, output, new Dictionary<string, string> { [key] = value });

        var exit = await ingest.WaitForExitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(2, exit);
        Assert.Contains("Invalid configuration", ingest.Output, StringComparison.Ordinal);
        Assert.Contains(named, ingest.Output, StringComparison.Ordinal);
    }

    /// <summary>A request body that sends its first byte, then waits to be released.</summary>
    private sealed class HeldContent : HttpContent
    {
        private readonly string _json;
        private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public HeldContent(string json)
        {
            _json = json;
            Headers.ContentType = new("application/json");
        }

        public TaskCompletionSource Started { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Release() => _release.TrySetResult();

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            var bytes = System.Text.Encoding.UTF8.GetBytes(_json);
            await stream.WriteAsync(bytes.AsMemory(0, 1));
            await stream.FlushAsync();
            Started.TrySetResult();
            await _release.Task;
            await stream.WriteAsync(bytes.AsMemory(1));
        }

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}
