using System.Text.Json;
using Arena.Contracts;
using StackExchange.Redis;

namespace Arena.Pipeline.Tests.Infrastructure;

/// <summary>What the pipeline holds: the persister's group in Redis and its API (its file: <see cref="PersisterFile"/>).</summary>
internal static class PipelineState
{
    public static readonly string Stream = StreamKeys.Events(0);

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
}
