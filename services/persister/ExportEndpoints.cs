using Arena.Contracts;
using Arena.Persister.Storage;
using Arena.Security;
using Arena.ServiceDefaults;
using Microsoft.AspNetCore.Mvc;

namespace Arena.Persister;

/// <summary>
/// <c>GET /v1/export</c>: the whole history, or the events of a range of <c>ts</c>, of some types
/// or of one run, in stream order as NDJSON, CSV or Parquet.
/// </summary>
public static class ExportEndpoints
{
    private static readonly string[] Formats = ["ndjson", "csv", "parquet"];

    public static void MapExport(this WebApplication app) =>
        app.MapGet("/v1/export", ExportAsync).RequireReadAccess()
            .WithName("ExportEvents").WithSummary("Stored events of every run, or of a ts range, some types or one run, in stream order as NDJSON, CSV or Parquet")
            .ProducesBody(StatusCodes.Status200OK, ExportWriting.NdjsonType, ExportWriting.CsvType, ExportWriting.ParquetType)
            .ProducesProblems(StatusCodes.Status400BadRequest, StatusCodes.Status401Unauthorized, StatusCodes.Status503ServiceUnavailable);

    private static async Task<IResult> ExportAsync(HttpContext http, EventChunks chunks, HistoryReads reads, EventQueries queries, ParquetExports exports,
        string? format, string? from, string? to, string? type, [FromQuery(Name = "run_id")] string? runId)
    {
        var chosen = format ?? Negotiated(http.Request);
        if (!Formats.Contains(chosen))
        {
            return QueryParameters.Invalid("format", $"'{format}' is not an export format; use ndjson, csv or parquet").ToResult();
        }
        if (TryFilter(from, to, type, runId, out var problem) is not { } filter)
        {
            return problem!.ToResult();
        }
        var fileName = $"arena-events-{filter.FileNamePart()}.{chosen}";
        return chosen switch
        {
            "csv" => await ExportWriting.CsvAsync(http, chunks, filter, fileName),
            "parquet" => await ExportWriting.ParquetAsync(http, reads, queries, exports, filter, fileName),
            _ => await ExportWriting.NdjsonAsync(http, chunks, filter, fileName),
        };
    }

    /// <summary>Without <c>format</c>, the first of CSV or Parquet that <c>Accept</c> names; NDJSON otherwise.</summary>
    private static string Negotiated(HttpRequest request)
    {
        foreach (var accepted in request.GetTypedHeaders().Accept.OrderByDescending(a => a.Quality ?? 1))
        {
            if (accepted.MediaType.Equals(ExportWriting.CsvType, StringComparison.OrdinalIgnoreCase))
            {
                return "csv";
            }
            if (accepted.MediaType.Equals(ExportWriting.ParquetType, StringComparison.OrdinalIgnoreCase))
            {
                return "parquet";
            }
            if (accepted.MediaType.Equals(ExportWriting.NdjsonType, StringComparison.OrdinalIgnoreCase))
            {
                return "ndjson";
            }
        }
        return "ndjson";
    }

    private static EventFilter? TryFilter(string? from, string? to, string? type, string? runId, out Problem? problem)
    {
        problem = null;
        DateTimeOffset? start = null, end = null;
        if (from is not null)
        {
            if (!Rfc3339.TryParse(from, out var instant, out var why))
            {
                problem = QueryParameters.Invalid("from", $"'{from}' {why}");
                return null;
            }
            start = instant;
        }
        if (to is not null)
        {
            if (!Rfc3339.TryParse(to, out var instant, out var why))
            {
                problem = QueryParameters.Invalid("to", $"'{to}' {why}");
                return null;
            }
            end = instant;
        }
        if (start >= end)
        {
            problem = QueryParameters.Invalid("to", $"'{to}' must be later than from '{from}' (from is inclusive, to exclusive)");
            return null;
        }
        string[]? types = null;
        if (type is not null)
        {
            types = type.Split(',');
            if (types.FirstOrDefault(t => !EnvelopeRules.Type().IsMatch(t)) is { } bad)
            {
                problem = QueryParameters.Invalid("type",
                    $"'{bad}' is not an event type; give types separated by commas, each a lowercase letter then up to 63 of a-z 0-9 _");
                return null;
            }
        }
        if (runId is not null && HistoryEndpoints.BadRunId(runId) is { } badRun)
        {
            problem = badRun;
            return null;
        }
        return new EventFilter(runId, types, start, end);
    }
}
