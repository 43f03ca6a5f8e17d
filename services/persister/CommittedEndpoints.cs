using System.Text.Json;
using Arena.Contracts;
using Arena.Messaging;
using Arena.Security;
using Arena.ServiceDefaults;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Arena.Persister;

/// <summary>
/// The committed high-water mark: per partition, the stream ID up to which the persister group
/// has committed every entry. Read from the group's state in Redis (one script a partition,
/// never DuckDB), so it is cheap to poll and true across several persister instances.
/// </summary>
public static class CommittedEndpoints
{
    public static void MapCommitted(this WebApplication app) =>
        app.MapGet("/v1/committed", CommittedAsync).RequireReadAccess()
            .WithName("Committed").WithSummary("Per partition, the stream ID up to which the persister has committed every event")
            .ProducesBody(StatusCodes.Status200OK, "application/json")
            .ProducesProblems(StatusCodes.Status401Unauthorized, StatusCodes.Status503ServiceUnavailable);

    private static async Task<IResult> CommittedAsync(HttpContext http, IConnectionMultiplexer redis, IOptions<ArenaOptions> arena)
    {
        var db = redis.GetDatabase();
        CommittedMark[] marks;
        try
        {
            marks = await Task.WhenAll(Enumerable.Range(0, arena.Value.Partitions)
                .Select(p => CommittedMark.ReadAsync(db, p, StreamKeys.PersisterGroup)));
        }
        catch (Exception e) when (e is RedisConnectionException or RedisTimeoutException)
        {
            http.Response.Headers.RetryAfter = "1";
            return Problem.Create(StatusCodes.Status503ServiceUnavailable, "redis-unavailable", "Event log unavailable",
                $"Redis did not answer for the persister group's state ({e.Message}). Retry after a second.").ToResult();
        }
        return JsonResponse.Write(writer =>
        {
            writer.WriteStartObject();
            writer.WriteStartArray("partitions");
            for (var p = 0; p < marks.Length; p++)
            {
                writer.WriteStartObject();
                writer.WriteNumber("partition", p);
                WriteId(writer, "committed_through", marks[p].Through);
                writer.WriteNumber("pending", marks[p].Pending);
                WriteId(writer, "oldest_pending", marks[p].OldestPending);
                writer.WriteEndObject();
            }
            writer.WriteEndArray();
            writer.WriteEndObject();
        });
    }

    private static void WriteId(Utf8JsonWriter writer, string name, StreamId? id)
    {
        if (id is { } value)
        {
            writer.WriteString(name, value.ToString());
        }
        else
        {
            writer.WriteNull(name);
        }
    }
}
