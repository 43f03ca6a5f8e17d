using System.Buffers;
using System.Text;
using System.Text.Json;
using Arena.Contracts;
using Arena.Persister.Storage;
using Arena.Security;
using Arena.ServiceDefaults;

namespace Arena.Persister;

/// <summary>The history API: runs, a run's events in stream order, and exports.</summary>
public static class HistoryEndpoints
{
    private const int DefaultLimit = 1000;
    private const int MaxLimit = 10_000;

    /// <summary>
    /// A page ends after about this many characters of envelopes (4 MiB; one event more at most),
    /// with <c>next_after</c> set, even short of its limit: what one response and the client
    /// that parses it whole must hold.
    /// </summary>
    private const long MaxPageChars = 4 << 20;

    public static void MapHistory(this WebApplication app)
    {
        var history = app.MapGroup("/v1/runs").RequireReadAccess()
            .ProducesProblems(StatusCodes.Status400BadRequest, StatusCodes.Status401Unauthorized, StatusCodes.Status503ServiceUnavailable);
        history.MapGet("", ListRuns).WithName("ListRuns").WithSummary("Runs, most recent first, with their event counts and status")
            .ProducesBody(StatusCodes.Status200OK, "application/json");
        history.MapGet("/{runId}/events", RunEventsAsync).WithName("RunEvents").WithSummary("A run's stored events in stream order, a page at a time")
            .ProducesBody(StatusCodes.Status200OK, "application/json", "application/x-ndjson");
        history.MapGet("/{runId}/export", ExportAsync).WithName("ExportRun").WithSummary("A run's stored events as a Parquet file")
            .ProducesBody(StatusCodes.Status200OK, "application/vnd.apache.parquet");
    }

    private static IResult ListRuns(EventQueries queries, string? limit)
    {
        if (!QueryParameters.TryLimit(limit, 100, MaxLimit, out var max, out var problem))
        {
            return problem!.ToResult();
        }
        var runs = queries.Runs(max);
        return JsonResponse.Write(writer =>
        {
            writer.WriteStartObject();
            writer.WriteStartArray("runs");
            foreach (var run in runs)
            {
                writer.WriteRun(run);
            }
            writer.WriteEndArray();
            writer.WriteEndObject();
        });
    }

    private static async Task<IResult> RunEventsAsync(HttpContext http, EventChunks chunks, string runId, string? after, string? limit)
    {
        if (BadRunId(runId) is { } bad)
        {
            return bad.ToResult();
        }
        var from = StreamId.Zero;
        if (after is not null && !StreamId.TryParse(after, out from))
        {
            return QueryParameters.Invalid("after", $"'{after}' is not a stream ID; expected <ms>-<seq>, e.g. 1732356000123-0").ToResult();
        }
        if (!QueryParameters.TryLimit(limit, DefaultLimit, MaxLimit, out var max, out var problem))
        {
            return problem!.ToResult();
        }

        await using var reading = chunks.ReadAsync(new EventFilter(runId), EventCursor.After(from), max, MaxPageChars, http.RequestAborted).GetAsyncEnumerator();
        if (!await StartedAsync(reading))
        {
            return Busy(http);
        }
        http.Response.ContentType = "application/json";
        var body = http.Response.BodyWriter;
        await using var writer = new Utf8JsonWriter(body);
        writer.WriteStartObject();
        writer.WriteString("run_id", runId);
        writer.WriteStartArray("events");
        var count = 0L;
        var chars = 0L;
        EventCursor? last = null;
        do
        {
            var chunk = reading.Current;
            foreach (var row in chunk.Rows)
            {
                writer.WriteRawValue(row.ServedEnvelope(), skipInputValidation: true);
            }
            count += chunk.Rows.Count;
            chars += chunk.Chars;
            last = chunk.Last ?? last;
            writer.Flush();
            await body.FlushAsync(http.RequestAborted);
        }
        while (await reading.MoveNextAsync());
        writer.WriteEndArray();
        // A full page may have more behind it; a short one is everything stored so far.
        if ((count == max || chars >= MaxPageChars) && last is { } next)
        {
            writer.WriteString("next_after", next.Id.ToString());
        }
        else
        {
            writer.WriteNull("next_after");
        }
        writer.WriteEndObject();
        writer.Flush();
        return Results.Empty;
    }

    private static async Task<IResult> ExportAsync(HttpContext http, EventChunks chunks, HistoryReads reads, EventQueries queries,
        ParquetExports exports, string runId, string? format) =>
        BadRunId(runId) is { } bad ? bad.ToResult()
        : (format ?? "ndjson") switch
        {
            "ndjson" => await ExportWriting.NdjsonAsync(http, chunks, new EventFilter(runId), $"{runId}.ndjson"),
            "parquet" => await ExportWriting.ParquetAsync(http, reads, queries, exports, new EventFilter(runId), $"{runId}.parquet"),
            _ => QueryParameters.Invalid("format", $"'{format}' is not an export format; use ndjson or parquet").ToResult(),
        };

    /// <summary>Reads the first chunk (there always is one); false when the read queue refused it and nothing has been written.</summary>
    internal static async Task<bool> StartedAsync(IAsyncEnumerator<EventChunk> reading)
    {
        try
        {
            await reading.MoveNextAsync();
            return true;
        }
        catch (ReadsRefusedException)
        {
            return false;
        }
    }

    internal static IResult Busy(HttpContext http)
    {
        http.Response.Headers.RetryAfter = "1";
        return Problem.Create(StatusCodes.Status503ServiceUnavailable, "reads-busy", "History reads are busy",
            "The persister is reading as much history as it is configured to at once, and as many requests already wait. Retry after a second.").ToResult();
    }

    internal static Problem? BadRunId(string runId) =>
        EnvelopeRules.Id().IsMatch(runId) ? null : QueryParameters.Invalid("run_id", "must be 1 to 128 characters of A-Z a-z 0-9 . _ : -");

}
