using System.Globalization;
using System.Text;
using System.Text.Json;
using Arena.Contracts;
using Arena.Persister.Storage;
using Arena.ServiceDefaults;

namespace Arena.Persister;

/// <summary>The history API: runs, a run's events in stream order, and exports.</summary>
public static class HistoryEndpoints
{
    private const int DefaultLimit = 1000;
    private const int MaxLimit = 10_000;

    public static void MapHistory(this WebApplication app)
    {
        var history = app.MapGroup("/v1/runs").RequireReadAccess();
        history.MapGet("", ListRuns);
        history.MapGet("/{runId}/events", RunEvents);
        history.MapGet("/{runId}/export", ExportAsync);
    }

    private static IResult ListRuns(EventQueries queries, string? limit)
    {
        if (!TryLimit(limit, 100, out var max, out var problem))
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

    private static IResult RunEvents(EventQueries queries, string runId, string? after, string? limit)
    {
        if (BadRunId(runId) is { } bad)
        {
            return bad.ToResult();
        }
        var from = StreamId.Zero;
        if (after is not null && !StreamId.TryParse(after, out from))
        {
            return BadRequest("after", $"'{after}' is not a stream ID; expected <ms>-<seq>, e.g. 1732356000123-0").ToResult();
        }
        if (!TryLimit(limit, DefaultLimit, out var max, out var problem))
        {
            return problem!.ToResult();
        }

        return JsonResponse.Write(writer =>
        {
            writer.WriteStartObject();
            writer.WriteString("run_id", runId);
            writer.WriteStartArray("events");
            var count = 0;
            var last = queries.WriteRunEvents(runId, from, max, envelope =>
            {
                writer.WriteRawValue(envelope, skipInputValidation: true);
                count++;
            });
            writer.WriteEndArray();
            // A full page may have more behind it; a short one is everything stored so far.
            if (count == max && last is { } next)
            {
                writer.WriteString("next_after", next.ToString());
            }
            else
            {
                writer.WriteNull("next_after");
            }
            writer.WriteEndObject();
        });
    }

    private static async Task<IResult> ExportAsync(HttpContext http, EventQueries queries, string runId, string? format)
    {
        if (BadRunId(runId) is { } bad)
        {
            return bad.ToResult();
        }
        switch (format ?? "ndjson")
        {
            case "ndjson":
                http.Response.ContentType = "application/x-ndjson";
                http.Response.Headers.ContentDisposition = $"attachment; filename=\"{runId}.ndjson\"";
                var after = StreamId.Zero;
                while (true)
                {
                    var page = new StringBuilder();
                    var last = queries.WriteRunEvents(runId, after, MaxLimit, envelope => page.Append(envelope).Append('\n'));
                    await http.Response.WriteAsync(page.ToString(), http.RequestAborted);
                    if (last is not { } next)
                    {
                        return Results.Empty;
                    }
                    after = next;
                }
            case "parquet":
                var path = queries.ExportParquet(runId, Path.GetTempPath());
                try
                {
                    var bytes = await File.ReadAllBytesAsync(path, http.RequestAborted);
                    return Results.File(bytes, "application/vnd.apache.parquet", $"{runId}.parquet");
                }
                finally
                {
                    File.Delete(path);
                }
            default:
                return BadRequest("format", $"'{format}' is not an export format; use ndjson or parquet").ToResult();
        }
    }

    private static Problem? BadRunId(string runId) =>
        EnvelopeRules.Id().IsMatch(runId) ? null : BadRequest("run_id", "must be 1 to 128 characters of A-Z a-z 0-9 . _ : -");

    private static bool TryLimit(string? text, int fallback, out int limit, out Problem? problem)
    {
        problem = null;
        limit = fallback;
        if (text is null)
        {
            return true;
        }
        if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out limit) && limit is >= 1 and <= MaxLimit)
        {
            return true;
        }
        problem = BadRequest("limit", $"must be an integer from 1 to {MaxLimit} (got '{text}')");
        return false;
    }

    private static Problem BadRequest(string field, string message) =>
        Problem.Create(StatusCodes.Status400BadRequest, "invalid-query", "Invalid query", $"{field} {message}",
            [new Arena.Contracts.Validation.ValidationError(0, field, message)]);
}
