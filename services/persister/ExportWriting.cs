using System.Globalization;
using System.IO.Pipelines;
using System.Text;
using Arena.Persister.Storage;

namespace Arena.Persister;

/// <summary>
/// Writes exports of stored events: NDJSON and CSV to the response as chunks are read from
/// DuckDB, Parquet through a file of <see cref="ParquetExports"/>. A request answered 503 while the
/// read queue is full has had nothing written.
/// </summary>
internal static class ExportWriting
{
    public const string NdjsonType = "application/x-ndjson";
    public const string CsvType = "text/csv";
    public const string ParquetType = "application/vnd.apache.parquet";

    /// <summary>The CSV columns, in the order and under the names of <see cref="EventQueries.ExportColumns"/>.</summary>
    private static readonly string CsvHeader =
        "stream_id,stream_partition,stream_ms,stream_seq,event_id,run_id,seq,type,schema_version,ts,ingested_at,producer,envelope\r\n";

    /// <summary>One line per event: the envelope with its <c>stream_id</c> (and <c>producer</c>), as the history pages serve it.</summary>
    public static Task<IResult> NdjsonAsync(HttpContext http, EventChunks chunks, EventFilter filter, string fileName) =>
        StreamAsync(http, chunks, filter, NdjsonType, fileName, header: null, static (row, text) => text.Append(row.ServedEnvelope()).Append('\n'));

    /// <summary>RFC 4180: a header row, CRLF line ends, fields quoted when they hold a comma, quote or line break.</summary>
    public static Task<IResult> CsvAsync(HttpContext http, EventChunks chunks, EventFilter filter, string fileName) =>
        StreamAsync(http, chunks, filter, $"{CsvType}; charset=utf-8", fileName, CsvHeader, AppendCsv);

    public static async Task<IResult> ParquetAsync(HttpContext http, HistoryReads reads, EventQueries queries, ParquetExports exports,
        EventFilter filter, string fileName)
    {
        var path = exports.NewPath();
        try
        {
            await reads.FirstAsync(() =>
            {
                queries.ExportParquet(filter, path);
                return path;
            }, http.RequestAborted);
            return Results.Stream(ParquetExports.OpenAndUnlink(path), ParquetType, fileName);
        }
        catch (ReadsRefusedException)
        {
            return HistoryEndpoints.Busy(http);
        }
        finally
        {
            // Already unlinked once open; this removes what a failed or abandoned COPY wrote.
            File.Delete(path);
        }
    }

    private static async Task<IResult> StreamAsync(HttpContext http, EventChunks chunks, EventFilter filter, string contentType, string fileName,
        string? header, Action<EventRow, StringBuilder> append)
    {
        await using var reading = chunks.ReadAllAsync(filter, http.RequestAborted).GetAsyncEnumerator();
        if (!await HistoryEndpoints.StartedAsync(reading))
        {
            return HistoryEndpoints.Busy(http);
        }
        http.Response.ContentType = contentType;
        http.Response.Headers.ContentDisposition = $"attachment; filename=\"{fileName}\"";
        var body = http.Response.BodyWriter;
        var text = new StringBuilder(header);
        do
        {
            foreach (var row in reading.Current.Rows)
            {
                append(row, text);
            }
            await FlushAsync(body, text, http.RequestAborted);
        }
        while (await reading.MoveNextAsync());
        return Results.Empty;
    }

    private static async Task FlushAsync(PipeWriter body, StringBuilder text, CancellationToken cancellationToken)
    {
        foreach (var part in text.GetChunks())
        {
            Encoding.UTF8.GetBytes(part.Span, body);
        }
        text.Clear();
        await body.FlushAsync(cancellationToken);
    }

    private static void AppendCsv(EventRow row, StringBuilder text)
    {
        var invariant = CultureInfo.InvariantCulture;
        text.Append(invariant, $"{row.StreamId},{row.Partition},{row.StreamId.Milliseconds},{row.StreamId.Sequence},");
        AppendField(text, row.EventId);
        text.Append(',').Append(row.RunId).Append(',').Append(row.Seq.ToString(invariant)).Append(',').Append(row.Type).Append(',')
            .Append(row.SchemaVersion.ToString(invariant)).Append(',').Append(Rfc3339Utc(row.Ts)).Append(',').Append(Rfc3339Utc(row.IngestedAt)).Append(',');
        AppendField(text, row.Producer ?? "");
        text.Append(',');
        AppendField(text, row.Envelope);
        text.Append("\r\n");
    }

    /// <summary>A field of free text, quoted (quotes doubled) when it holds a comma, a quote or a line break.</summary>
    private static void AppendField(StringBuilder text, string value)
    {
        if (value.AsSpan().IndexOfAny(",\"\r\n") < 0)
        {
            text.Append(value);
            return;
        }
        text.Append('"').Append(value.Replace("\"", "\"\"", StringComparison.Ordinal)).Append('"');
    }

    private static string Rfc3339Utc(DateTimeOffset instant) =>
        instant.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture);
}
