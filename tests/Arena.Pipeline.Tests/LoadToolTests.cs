using System.Text;
using System.Text.Json;
using Arena.Contracts;
using Arena.Pipeline.Tests.Infrastructure;

namespace Arena.Pipeline.Tests;

/// <summary><c>arena-load</c> as a process against real ingest and persister processes over two partitions.</summary>
public sealed class LoadToolTests(ITestOutputHelper output) : PipelineTest(output)
{
    private const string Partitions = "2";

    protected override IDictionary<string, string>? IngestSettings => new Dictionary<string, string> { ["Arena__Partitions"] = Partitions };

    [Fact]
    public async Task Commit_lag_is_measured_from_the_committed_marks_until_every_accepted_event_is_committed()
    {
        await using var persister = await TestServices.Persister(Redis, DataDir, Output,
            new Dictionary<string, string> { ["Arena__Partitions"] = Partitions }).WaitReadyAsync();
        string[] runs = [.. Enumerable.Range(0, 6).Select(i => $"lag-{i}")];
        Assert.Equal([0, 1], runs.Select(r => Partitioner.PartitionOf(r, 2)).Distinct().Order()); // both partitions carry runs

        var (exit, text) = await Command.RunAsync("dotnet",
            [Repo.Binary("tools/Arena.Load", "arena-load"), "--url", Ingest.Url.ToString(), "--rate", "1000", "--duration", "3",
             "--batch", "10", "--runs", "6", "--run-prefix", "lag", "--persister", persister.Url.ToString(), "--persister-poll-ms", "50", "--json"],
            timeout: TimeSpan.FromMinutes(2));
        Output.WriteLine(text);
        Assert.Equal(0, exit);

        // stdout (the JSON) comes first in the output, stderr after it.
        var reader = new Utf8JsonReader(Encoding.UTF8.GetBytes(text), new JsonReaderOptions { AllowMultipleValues = true });
        using var result = JsonDocument.ParseValue(ref reader);
        var accepted = result.RootElement.GetProperty("events_accepted").GetInt64();
        var lag = result.RootElement.GetProperty("persister");
        Assert.Equal(3000, accepted);
        Assert.True(lag.GetProperty("caught_up").GetBoolean());
        Assert.Equal(accepted, lag.GetProperty("visible").GetInt64());
        Assert.Equal(0, lag.GetProperty("poll_errors").GetInt64());
        var samples = lag.GetProperty("samples").GetInt32();
        Assert.InRange(samples, 20, int.MaxValue);
        Assert.InRange(lag.GetProperty("requests").GetInt64(), samples, samples + 1); // one request a poll (the last may be cut short)
        Assert.InRange(lag.GetProperty("max_lag_ms").GetDouble(), lag.GetProperty("p50_lag_ms").GetDouble(), 30_000);

        // What the persister committed is what arena-load counted: every event of its runs.
        Assert.Equal(accepted, await PipelineState.PersistedCountAsync(persister.Http, producedOnly: true));
    }
}
