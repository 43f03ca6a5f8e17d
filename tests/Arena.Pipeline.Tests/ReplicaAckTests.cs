using System.Globalization;
using System.Net;
using Arena.Contracts;
using Arena.Pipeline.Tests.Infrastructure;

namespace Arena.Pipeline.Tests;

/// <summary>
/// Ingest answers 202 only once a replica holds the events (<c>WAIT</c>), shown on a real
/// master and replica, the replica frozen with SIGSTOP so it cannot confirm.
/// </summary>
public sealed class ReplicaAckTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly string Stream = StreamKeys.Events(0);

    private RedisProcess _master = null!;
    private RedisProcess _replica = null!;

    public async Task InitializeAsync()
    {
        _master = await RedisProcess.StartAsync();
        _replica = await RedisProcess.StartAsync("always", null, "--replicaof", "127.0.0.1", _master.Port.ToString(CultureInfo.InvariantCulture));
        await Wait.UntilAsync(async () => (await _replica.CliAsync("INFO", "replication")).Contains("master_link_status:up", StringComparison.Ordinal),
            "the replica to sync with its master");
    }

    public async Task DisposeAsync()
    {
        await _replica.SignalAsync("CONT");
        await _replica.DisposeAsync();
        await _master.DisposeAsync();
    }

    [Fact]
    public async Task Ingest_answers_202_only_once_a_replica_holds_the_events()
    {
        await using var ingest = await TestServices.Ingest(_master, output, new Dictionary<string, string>
        {
            ["Ingest__ReplicaTimeout"] = "00:00:00.300",
        }).WaitReadyAsync();

        using (var first = await Events.PostAsync(ingest.Http, Events.TurnStart("replicated", 1, "replicated:1")))
        {
            await Events.AcceptedAsync(first);
        }
        // No waiting: the 202 itself says the replica has it.
        Assert.Equal("1", await _replica.CliAsync("XLEN", Stream));

        await _replica.SignalAsync("STOP");
        string writtenId;
        using (var unconfirmed = await Events.PostAsync(ingest.Http, Events.TurnStart("replicated", 2, "replicated:2")))
        {
            var problem = await unconfirmed.Content.ReadAsStringAsync();
            Assert.Equal(HttpStatusCode.ServiceUnavailable, unconfirmed.StatusCode);
            Assert.Contains("replica", problem, StringComparison.Ordinal);
            Assert.Equal("1", unconfirmed.Headers.RetryAfter?.ToString());
            // The master took it; only the confirmation is missing, so a retry must not write it again.
            writtenId = (await _master.CliAsync("XREVRANGE", Stream, "+", "-", "COUNT", "1")).Split('\n')[0];
        }

        await _replica.SignalAsync("CONT");
        using var retry = await Events.PostAsync(ingest.Http, Events.TurnStart("replicated", 2, "replicated:2"));
        var (_, streamId, duplicate) = Assert.Single(await Events.AcceptedAsync(retry));
        Assert.True(duplicate);
        Assert.Equal(writtenId, streamId);
        Assert.Equal("2", await _replica.CliAsync("XLEN", Stream));
    }

    [Fact]
    public async Task Requests_arriving_together_at_start_up_wait_for_the_replica_too()
    {
        await using var ingest = await TestServices.Ingest(_master, output, new Dictionary<string, string>
        {
            ["Ingest__ReplicaTimeout"] = "00:00:00.300",
        }).WaitReadyAsync();
        await _replica.SignalAsync("STOP");

        // The first requests, all at once: none may be answered before ingest knows about the replica.
        var responses = await Task.WhenAll(Enumerable.Range(1, 8).Select(i => Events.PostAsync(ingest.Http, Events.TurnStart("startup", i, $"startup:{i}"))));

        Assert.All(responses, r => Assert.Equal(HttpStatusCode.ServiceUnavailable, r.StatusCode));
        foreach (var response in responses)
        {
            response.Dispose();
        }
    }

    [Fact]
    public async Task Waiting_for_replicas_can_be_turned_off()
    {
        await using var ingest = await TestServices.Ingest(_master, output, new Dictionary<string, string>
        {
            ["Ingest__WaitForReplicas"] = "0",
        }).WaitReadyAsync();
        await _replica.SignalAsync("STOP");

        using var response = await Events.PostAsync(ingest.Http, Events.TurnStart("unreplicated", 1, "unreplicated:1"));

        await Events.AcceptedAsync(response);
    }

    [Fact]
    public async Task A_setting_that_is_not_a_replica_count_stops_ingest_at_start()
    {
        await using var ingest = TestServices.Ingest(_master, output, new Dictionary<string, string>
        {
            ["Ingest__WaitForReplicas"] = "all",
        });

        Assert.NotEqual(0, await ingest.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains("WaitForReplicas must be 'auto' or a number", ingest.Output, StringComparison.Ordinal);
    }
}
