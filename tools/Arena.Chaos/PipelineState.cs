using Arena.Contracts;
using Arena.Harness;
using Arena.Messaging;
using StackExchange.Redis;

namespace Arena.Chaos;

/// <summary>An entry of partition 0's DLQ (<c>arena:{0}:dlq</c>); the chaos run uses one partition.</summary>
public sealed record DeadLetter(string Group, StreamId OriginalId, string? EventId, string Error);

/// <summary>Reads what the pipeline holds after the run in Redis: the DLQ and the stream (the groups: <see cref="ConsumerGroups"/>; the persister's file: <see cref="PersisterFile"/>).</summary>
public static class PipelineState
{
    public static async Task<List<DeadLetter>> ReadDeadLettersAsync(IDatabase db)
    {
        var letters = new List<DeadLetter>();
        await foreach (var entry in ScanAsync(db, StreamKeys.DeadLetters(0)))
        {
            letters.Add(new DeadLetter(
                entry[DeadLetters.Group].ToString(),
                StreamId.Parse(entry[DeadLetters.OriginalId].ToString()),
                entry[StreamFields.EventId].IsNull ? null : entry[StreamFields.EventId].ToString(),
                entry[DeadLetters.Error].ToString()));
        }
        return letters;
    }

    /// <summary>Dead letters the DLQ dropped, oldest first, once it held its cap.</summary>
    public static async Task<long> ReadDeadLettersDroppedAsync(IDatabase db) =>
        (long?)await db.StringGetAsync(DeadLetters.DroppedOf(0)) ?? 0;

    /// <summary>The event_id field of every entry still on the stream.</summary>
    public static async Task<List<string>> ReadStreamEventIdsAsync(IDatabase db)
    {
        var ids = new List<string>();
        await foreach (var entry in ScanAsync(db, StreamKeys.Events(0)))
        {
            if (!entry[StreamFields.EventId].IsNull)
            {
                ids.Add(entry[StreamFields.EventId].ToString());
            }
        }
        return ids;
    }

    private static async IAsyncEnumerable<StreamEntry> ScanAsync(IDatabase db, string key)
    {
        RedisValue from = "-";
        while (true)
        {
            var page = await db.StreamRangeAsync(key, from, "+", 10_000);
            foreach (var entry in page)
            {
                yield return entry;
            }
            if (page.Length < 10_000)
            {
                yield break;
            }
            from = "(" + page[^1].Id;
        }
    }
}
