using System.Text.Json;
using Arena.Contracts;
using DuckDB.NET.Data;
using StackExchange.Redis;

namespace Arena.Pipeline.Tests.Infrastructure;

/// <summary>What the pipeline holds: the persister's group in Redis, its API and its DuckDB file.</summary>
internal static class PipelineState
{
    public static readonly string Stream = StreamKeys.Events(0);

    /// <summary>The group has been handed every entry of the stream and holds none unacknowledged.</summary>
    public static async Task<bool> GroupDrainedAsync(IDatabase db, string group = "persister")
    {
        var last = await db.StreamRangeAsync(Stream, "-", "+", 1, Order.Descending);
        var info = (await db.StreamGroupInfoAsync(Stream)).SingleOrDefault(g => g.Name == group);
        return info.Name is not null
            && info.PendingMessageCount == 0
            && (last.Length == 0 || info.LastDeliveredId == last[0].Id);
    }

    public static async Task<long> PendingAsync(IDatabase db, string group = "persister") =>
        (await db.StreamPendingAsync(Stream, group)).PendingMessageCount;

    /// <summary>Total events over all runs (or only producers' runs), as the persister's API reports them.</summary>
    public static async Task<long> PersistedCountAsync(HttpClient persister, bool producedOnly = false)
    {
        using var doc = JsonDocument.Parse(await persister.GetStringAsync("/v1/runs?limit=10000"));
        return doc.RootElement.GetProperty("runs").EnumerateArray()
            .Where(r => !producedOnly || r.GetProperty("run_id").GetString() != PipelineRun.Id)
            .Sum(r => r.GetProperty("events").GetInt64());
    }

    /// <summary>Reads the persister's file directly; only while no persister has it open.</summary>
    public static StoredRows ReadStore(string dataDir)
    {
        using var connection = new DuckDBConnection($"Data Source={Path.Combine(dataDir, "persister.duckdb")};ACCESS_MODE=READ_ONLY");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT event_id, run_id, stream_partition, stream_ms, stream_seq FROM events";
        using var reader = command.ExecuteReader();
        var rows = new List<(string EventId, string RunId, int Partition, StreamId Id)>();
        while (reader.Read())
        {
            rows.Add((reader.GetString(0), reader.GetString(1), reader.GetInt32(2), new StreamId(reader.GetInt64(3), reader.GetInt64(4))));
        }
        return new StoredRows(rows);
    }
}

internal sealed record StoredRows(List<(string EventId, string RunId, int Partition, StreamId Id)> Rows)
{
    /// <summary>The rows of producers' events, without the pipeline's own (leaderboard_updated, stream_overflow).</summary>
    public StoredRows Produced => new([.. Rows.Where(r => r.RunId != PipelineRun.Id)]);

    public int Count => Rows.Count;
    public HashSet<string> EventIds => [.. Rows.Select(r => r.EventId)];
    /// <summary>Distinct keys (partition, stream ID): each row's own when nothing is doubled.</summary>
    public int DistinctStreamIds => Rows.Select(r => (r.Partition, r.Id)).Distinct().Count();
}
