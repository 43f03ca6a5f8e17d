using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Text.Json;
using Arena.Contracts;
using Arena.Pipeline.Tests.Infrastructure;
using StackExchange.Redis;
using Partitioner = Arena.Contracts.Partitioner;

namespace Arena.Pipeline.Tests;

/// <summary>
/// The whole pipeline on a real Redis Cluster (three masters, three replicas on loopback),
/// with partitions spread over the masters, and a master killed with SIGKILL mid-run.
/// </summary>
public sealed class ClusterTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const int Partitions = 4;
    private const int Runs = 8;
    private const int EventsPerRun = 400;
    private const int Batch = 20;

    /// <summary>How long a node may be unreachable before the others fail it over.</summary>
    private static readonly TimeSpan NodeTimeout = TimeSpan.FromSeconds(2);

    private static readonly Dictionary<string, string> OnCluster = new()
    {
        ["Arena__Partitions"] = Partitions.ToString(CultureInfo.InvariantCulture),
        ["Persister__ClaimMinIdle"] = "00:00:01",
        ["Persister__ClaimInterval"] = "00:00:00.200",
    };

    private readonly string _persisterDir = Repo.NewTempDir("cluster-persister");
    private readonly string _rankerDir = Repo.NewTempDir("cluster-ranker");
    private RedisCluster _cluster = null!;

    public async Task InitializeAsync()
    {
        _cluster = await RedisCluster.StartAsync(NodeTimeout);
        output.WriteLine($"Redis Cluster for this test: {_cluster.Configuration}");
    }

    public async Task DisposeAsync()
    {
        await _cluster.DisposeAsync();
        output.WriteLine("Redis Cluster stopped");
        Directory.Delete(_persisterDir, recursive: true);
        Directory.Delete(_rankerDir, recursive: true);
    }

    [Fact]
    public async Task Every_accepted_event_is_stored_once_through_a_master_failover()
    {
        await using var ingest = await TestServices.Ingest(_cluster, output, OnCluster).WaitReadyAsync();
        await using var ranker = await TestServices.Ranker(_cluster, _rankerDir, output, OnCluster).WaitReadyAsync();
        await using var persister = await TestServices.Persister(_cluster, _persisterDir, output, OnCluster).WaitReadyAsync();
        await using var gateway = await TestServices.Gateway(_cluster, output, persister, OnCluster).WaitReadyAsync();
        await using var client = await _cluster.ConnectAsync();
        var runIds = Enumerable.Range(0, Runs).Select(r => $"cluster-run-{r}").ToArray();
        Assert.True(runIds.Select(r => Partitioner.PartitionOf(r, Partitions)).Distinct().Count() > 1, "the runs should span partitions");

        var accepted = new ConcurrentDictionary<string, string>();
        using var stop = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        var producers = runIds.Select(run => ProduceRunAsync(ingest.Http, run, accepted, stop.Token)).ToArray();

        await Wait.UntilAsync(() => accepted.Count >= Runs * EventsPerRun / 4, "a quarter of the events accepted");
        var victimKey = StreamKeys.Events(Partitioner.PartitionOf(runIds[0], Partitions));
        var victim = await _cluster.MasterOfAsync(victimKey);
        var acceptedBeforeKill = accepted.Count;
        await victim.KillAsync();
        output.WriteLine($"killed the master of {victimKey} (port {victim.Port}) with {acceptedBeforeKill} events accepted");
        await Wait.UntilAsync(async () =>
        {
            try
            {
                return await _cluster.MasterOfAsync(victimKey) != victim;
            }
            catch (InvalidOperationException)
            {
                return false;
            }
        }, "a replica to take over the killed master's slots");
        // Back as a replica of the new master, so writes there can be confirmed by a replica again.
        await victim.RestartAsync();
        await _cluster.WaitHealthyAsync();
        await Task.WhenAll(producers);
        Assert.True(accepted.Count > acceptedBeforeKill, "events must be accepted after the failover too");

        await Wait.UntilAsync(async () => await PipelineState.PersistedCountAsync(persister.Http, producedOnly: true) >= accepted.Count,
            $"the persister to hold all {accepted.Count} accepted events", TimeSpan.FromMinutes(2));
        await Wait.UntilAsync(async () => await RankedGamesAsync(ranker.Http) == Runs, "the ranker to count every game");

        var replay = await SseClient.ReadAsync(gateway.Http, $"/v1/runs/{runIds[0]}/stream", null,
            events => events.Count(e => e.Type == "turn_start") >= EventsPerRun, TimeSpan.FromSeconds(30));
        var seqs = replay.Where(e => e.Type == "turn_start").Select(e => JsonDocument.Parse(e.Data).RootElement.GetProperty("seq").GetInt64()).ToList();
        Assert.Equal(Enumerable.Range(1, EventsPerRun).Select(i => (long)i), seqs);

        await persister.KillAsync();
        var stored = PersisterFile.Read(_persisterDir).Produced;
        Assert.Equal(Runs * (EventsPerRun + 1), accepted.Count);
        Assert.Equal(accepted.Count, stored.Count);
        Assert.Equal(stored.Count, stored.DistinctStreamIds);
        Assert.True(stored.EventIds.SetEquals(accepted.Keys), "the stored event ids must be exactly the accepted ones");
        Assert.All(stored, row => Assert.Equal(accepted[row.EventId], row.StreamId.ToString()));
    }

    /// <summary>
    /// Posts a run's events in batches, then its game_end, each batch retried with the same
    /// event ids until it is answered 202 (503 while its master fails over): a retry that the
    /// first attempt already wrote is answered with the original stream IDs.
    /// </summary>
    private static async Task ProduceRunAsync(HttpClient ingest, string run, ConcurrentDictionary<string, string> accepted, CancellationToken cancel)
    {
        var batches = Events.Run(run, EventsPerRun).Chunk(Batch).Select(Events.Array)
            .Append(Events.Array([Events.GameEnd(run, ("model-a", 1), ("model-b", 2))]));
        foreach (var body in batches)
        {
            while (true)
            {
                cancel.ThrowIfCancellationRequested();
                try
                {
                    using var response = await Events.PostAsync(ingest, body);
                    if (response.StatusCode == HttpStatusCode.Accepted)
                    {
                        foreach (var (eventId, streamId, _) in await Events.AcceptedAsync(response))
                        {
                            Assert.Equal(streamId, accepted.GetOrAdd(eventId, streamId));
                        }
                        break;
                    }
                    Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
                }
                catch (HttpRequestException)
                {
                }
                await Task.Delay(100, cancel);
            }
        }
    }

    private static async Task<long> RankedGamesAsync(HttpClient ranker)
    {
        using var doc = JsonDocument.Parse(await ranker.GetStringAsync("/v1/leaderboard"));
        return doc.RootElement.GetProperty("games").GetInt64();
    }

    [Fact]
    public async Task Two_consumers_share_a_group_over_partitions_on_several_masters_and_claim_what_a_dead_one_held()
    {
        await using var client = await _cluster.ConnectAsync();
        var db = client.GetDatabase();
        // Explicit ids, unique across partitions: each partition's stream is on its own master, with its own clock.
        var ids = new List<string>();
        for (var p = 0; p < Partitions; p++)
        {
            await db.StreamCreateConsumerGroupAsync(StreamKeys.Events(p), "g", "0", createStream: true);
            for (var i = 1; i <= 200; i++)
            {
                ids.Add((await db.StreamAddAsync(StreamKeys.Events(p), "n", i, messageId: $"{i}-{p}")).ToString());
            }
        }
        Assert.True((await Task.WhenAll(Enumerable.Range(0, Partitions).Select(p => _cluster.MasterOfAsync(StreamKeys.Events(p)))))
            .Distinct().Count() > 1, "the partitions should live on several masters");
        // A member that read entries and died holding them.
        var held = await db.StreamReadGroupAsync(StreamKeys.Events(1), "g", "dead-one", ">", 50);
        Assert.Equal(50, held.Length);

        await using var a = TestConsumer.Start(client, "g", "a", configure: o => o.BatchSize = 20, partitions: Partitions);
        await using var b = TestConsumer.Start(client, "g", "b", configure: o => o.BatchSize = 20, partitions: Partitions);
        await Wait.UntilAsync(() => a.Handled.Count + b.Handled.Count >= ids.Count, "the two members to handle every entry");

        Assert.NotEmpty(a.Handled);
        Assert.NotEmpty(b.Handled);
        Assert.Empty(a.Handled.Keys.Intersect(b.Handled.Keys));
        Assert.Equal(ids.Order(), a.Handled.Keys.Concat(b.Handled.Keys).Order());
        Assert.All(a.Handled.Values.Concat(b.Handled.Values), n => Assert.Equal(1, n));
        for (var p = 0; p < Partitions; p++)
        {
            Assert.Equal(0, (await db.StreamPendingAsync(StreamKeys.Events(p), "g")).PendingMessageCount);
        }
    }

    [Fact]
    public async Task Services_run_every_script_and_dead_letter_on_the_cluster()
    {
        await using var ingest = await TestServices.Ingest(_cluster, output, OnCluster).WaitReadyAsync();
        await using var ranker = await TestServices.Ranker(_cluster, _rankerDir, output, OnCluster).WaitReadyAsync();
        await using var client = await _cluster.ConnectAsync();
        var db = client.GetDatabase();
        // A game_end of a schema version the ranker does not know: accepted on its envelope, dead-lettered by the ranker.
        var runs = Enumerable.Range(0, 6).Select(r => $"poison-{r}").ToList();
        foreach (var run in runs)
        {
            var future = Events.GameEnd(run, ("model-a", 1), ("model-b", 2)).Replace("\"schema_version\":1", "\"schema_version\":2", StringComparison.Ordinal);
            using var response = await Events.PostAsync(ingest.Http, future);
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        }
        var byPartition = runs.GroupBy(r => Partitioner.PartitionOf(r, Partitions)).ToDictionary(g => g.Key, g => g.Count());
        Assert.True(byPartition.Count > 1, "the runs should span partitions");
        await Wait.UntilAsync(async () =>
        {
            foreach (var (partition, count) in byPartition)
            {
                if (await db.StreamLengthAsync(StreamKeys.DeadLetters(partition)) != count)
                {
                    return false;
                }
            }
            return true;
        }, "each partition's poison in that partition's DLQ");
        foreach (var partition in byPartition.Keys)
        {
            Assert.All(await db.StreamRangeAsync(StreamKeys.DeadLetters(partition)),
                e => Assert.Equal(StreamKeys.Events(partition), e[Arena.Messaging.DeadLetters.OriginalStream].ToString()));
            Assert.Equal(0, (await db.StreamPendingAsync(StreamKeys.Events(partition), "ranker")).PendingMessageCount);
        }
    }
}
