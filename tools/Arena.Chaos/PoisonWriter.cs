using System.Globalization;
using System.Text.Json;
using Arena.Contracts;
using StackExchange.Redis;

namespace Arena.Chaos;

/// <summary>
/// Keeps poison at the run's share of the events while the producers run: raw entries XADDed
/// around ingest that no consumer can parse, and game_ends posted through ingest that the
/// ranker cannot interpret. Raw entries are written only while no Redis restart is under way,
/// so each XADD's outcome is known and each is written exactly once.
/// </summary>
public sealed class PoisonWriter(ChaosOptions options, ChaosPipeline pipeline, Ledger ledger, Producers producers) : IDisposable
{
    private readonly SemaphoreSlim _redis = new(1, 1);
    private int _bursts;
    private long _gameEnds;

    public long GameEnds => Interlocked.Read(ref _gameEnds);
    public long Total => ledger.RawPoison.Count + GameEnds;

    /// <summary>Keeps poison out while Redis is killed and restarted.</summary>
    public async Task<IDisposable> HoldAsync(CancellationToken cancellationToken)
    {
        await _redis.WaitAsync(cancellationToken);
        return new Release(_redis);
    }

    /// <summary>Tops poison up every quarter second while <paramref name="producing"/>, and once more after.</summary>
    public async Task RunAsync(Func<bool> producing, CancellationToken cancellationToken)
    {
        while (producing())
        {
            await TopUpAsync(cancellationToken);
            await Task.Delay(250, cancellationToken);
        }
        await TopUpAsync(cancellationToken);
    }

    private async Task TopUpAsync(CancellationToken cancellationToken)
    {
        // poison / (accepted + raw) must reach the share; every poison entry is itself one more event offered.
        var share = options.PoisonPercent / 100;
        var deficit = (long)Math.Ceiling((share * (ledger.Accepted + ledger.RawPoison.Count) - Total) / (1 - share));
        if (deficit <= 0)
        {
            return;
        }
        var raw = (int)((deficit + 1) / 2);
        using (await HoldAsync(cancellationToken))
        {
            await WriteRawPoisonAsync(raw);
        }
        await PostGameEndPoisonAsync((int)(deficit - raw), Interlocked.Increment(ref _bursts), cancellationToken);
    }

    /// <summary>
    /// Entries written straight onto the stream, as a foreign or broken producer could, that no
    /// consumer can parse: an envelope cut off mid-document, or none at all. Both groups read them
    /// (their type is one the ranker interprets), so each must dead-letter them.
    /// </summary>
    private async Task WriteRawPoisonAsync(int count)
    {
        var db = pipeline.Db;
        for (var i = 0; i < count; i++)
        {
            var id = string.Create(CultureInfo.InvariantCulture, $"chaos-{options.Seed}-raw-{ledger.RawPoison.Count}");
            var truncated = i % 2 == 0;
            NameValueEntry[] fields = truncated
                ? [new(StreamFields.EventId, id), new(StreamFields.RunId, "chaos-raw"), new(StreamFields.Type, EventTypes.GameEnd),
                    new(StreamFields.Envelope, """{"event_id":"x","run_id":"chaos-raw","seq":1,"type":"game_end","payload":{"results":[""")]
                : [new(StreamFields.EventId, id), new(StreamFields.RunId, "chaos-raw"), new(StreamFields.Type, EventTypes.Action)];
            var streamId = await AddAsync(db, fields);
            ledger.RawPoison.Add(new RawPoison(StreamId.Parse(streamId.ToString()), truncated ? "truncated envelope" : "no envelope"));
        }
    }

    // Right after a Redis restart the multiplexer may not have reconnected yet; a command it
    // refuses for want of a connection was never sent, so sending it again cannot write twice.
    private static async Task<RedisValue> AddAsync(IDatabase db, NameValueEntry[] fields)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await db.StreamAddAsync(StreamKeys.Events(0), fields);
            }
            catch (RedisConnectionException) when (attempt < 100)
            {
                await Task.Delay(100);
            }
        }
    }

    /// <summary>
    /// game_ends ingest accepts and the persister stores but the ranker cannot interpret: a newer
    /// schema_version (accepted on its envelope alone), as a harness newer than the pipeline sends.
    /// </summary>
    private async Task PostGameEndPoisonAsync(int count, int burst, CancellationToken cancellationToken)
    {
        if (count == 0)
        {
            return;
        }
        var runId = string.Create(CultureInfo.InvariantCulture, $"chaos-{options.Seed}-poison-{burst}");
        var now = DateTimeOffset.UtcNow;
        var events = Enumerable.Range(0, count).Select(i =>
        {
            var eventId = string.Create(CultureInfo.InvariantCulture, $"{runId}:{i + 1}");
            return Envelope.Create(runId, i + 1, EventTypes.GameEnd, now, new GameEnd([new("p1", "gpt-5", 1), new("p2", "grok-4", 2)]), eventId) with { SchemaVersion = 2 };
        }).ToList();
        await producers.PostAcceptedAsync(JsonSerializer.SerializeToUtf8Bytes(events, ArenaJson.Default.ListEnvelope), runId, cancellationToken, poison: true);
        Interlocked.Add(ref _gameEnds, count);
    }
    public void Dispose() => _redis.Dispose();

    private sealed class Release(SemaphoreSlim semaphore) : IDisposable
    {
        public void Dispose() => semaphore.Release();
    }
}
