using Arena.Contracts;
using Arena.Messaging;
using DuckDB.NET.Data;
using StackExchange.Redis;

namespace Arena.Chaos;

/// <summary>A row of the persister's events table, as far as the checks need it.</summary>
public sealed record StoredRow(string EventId, string RunId, StreamId StreamId);

/// <summary>An entry of partition 0's DLQ (<c>arena:{0}:dlq</c>); the chaos run uses one partition.</summary>
public sealed record DeadLetter(string Group, StreamId OriginalId, string? EventId, string Error);

/// <summary>
/// One consumer group's state: caught up when nothing is pending and it has been delivered the
/// stream's last entry. (XINFO's <c>lag</c> is not used: after a Redis restart it stayed at
/// thousands for groups that had read everything.)
/// </summary>
public sealed record GroupState(string Name, long Pending, string LastDelivered, string LastEntry)
{
    public bool CaughtUp => Pending == 0 && LastDelivered == LastEntry;

    public override string ToString() => $"{Name}: {Pending} pending, last delivered {LastDelivered} of {LastEntry}";
}

/// <summary>Reads what the pipeline holds after the run: the persister's DuckDB file, the DLQ, the stream, the groups.</summary>
public static class PipelineState
{
    /// <summary>Every row of the events table, read from the file with the persister stopped.</summary>
    public static List<StoredRow> ReadStored(string dataDir)
    {
        using var connection = new DuckDBConnection($"Data Source={Path.Combine(dataDir, "persister.duckdb")};ACCESS_MODE=READ_ONLY");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT event_id, run_id, stream_ms, stream_seq FROM events";
        using var reader = command.ExecuteReader();
        var rows = new List<StoredRow>();
        while (reader.Read())
        {
            rows.Add(new StoredRow(reader.GetString(0), reader.GetString(1), new StreamId(reader.GetInt64(2), reader.GetInt64(3))));
        }
        return rows;
    }

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

    public static async Task<List<GroupState>> ReadGroupsAsync(IDatabase db)
    {
        var stream = StreamKeys.Events(0);
        var last = (await db.StreamInfoAsync(stream)).LastGeneratedId.ToString();
        return [.. (await db.StreamGroupInfoAsync(stream)).Select(g => new GroupState(g.Name, g.PendingMessageCount, g.LastDeliveredId ?? "", last))];
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
