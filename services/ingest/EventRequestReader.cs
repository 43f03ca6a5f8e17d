using Arena.ServiceDefaults;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Unicode;
using Arena.Contracts.Validation;
using Microsoft.Extensions.Options;

namespace Arena.Ingest;

/// <summary>
/// Turns a request body (one envelope, a JSON array, or NDJSON) into validated events, or
/// into the one problem that rejects the whole request. Nothing is written on rejection.
/// </summary>
public sealed class EventRequestReader(IOptions<IngestOptions> options)
{
    private const int MaxReportedErrors = 100;
    private static readonly JsonDocumentOptions ParseOptions = new() { MaxDepth = 64, AllowDuplicateProperties = false };

    private readonly IngestOptions _limits = options.Value;

    public sealed record Outcome(IReadOnlyList<ValidatedEvent>? Events, Problem? Rejection, IDisposable? Documents);

    public async Task<Outcome> ReadAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        var ndjson = IsNdjson(request.ContentType);
        if (!ndjson && !IsJson(request.ContentType))
        {
            return Reject(Problem.Create(StatusCodes.Status415UnsupportedMediaType, "unsupported-media-type", "Unsupported media type",
                $"Content-Type must be application/json or application/x-ndjson, not '{request.ContentType ?? "(none)"}'."));
        }
        if (Encoded(request) is { } coding)
        {
            // Read as it is, a compressed body would be rejected as invalid UTF-8, or worse, accepted as if it were the events.
            return Reject(Problem.Create(StatusCodes.Status415UnsupportedMediaType, "unsupported-content-encoding", "Unsupported content encoding",
                $"Content-Encoding '{coding}' is not supported; send the body uncompressed."));
        }
        if (request.ContentLength > _limits.MaxBodyBytes)
        {
            return TooLarge($"The body is {request.ContentLength} bytes; the limit is {_limits.MaxBodyBytes}.");
        }

        byte[]? body;
        try
        {
            body = await ReadBodyAsync(request.Body, request.ContentLength, cancellationToken);
        }
        catch (BadHttpRequestException e)
        {
            // The server found the body's framing broken (it ended before its Content-Length, a bad
            // chunk) or too slow to arrive, e.g. a Content-Length larger than what is sent.
            return e.StatusCode == StatusCodes.Status400BadRequest
                ? Invalid(0, "", $"the request body could not be read: {e.Message}")
                : Reject(Problem.Create(e.StatusCode, "unreadable-body", "Unreadable request body", $"The request body could not be read: {e.Message}"));
        }
        if (body is null)
        {
            return TooLarge($"The body exceeds the limit of {_limits.MaxBodyBytes} bytes.");
        }
        if (!Utf8.IsValid(body))
        {
            return Invalid(0, "", "the request body is not valid UTF-8");
        }

        return ndjson ? ReadNdjson(body) : ReadJson(body);
    }

    private Outcome ReadJson(byte[] body)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body, ParseOptions);
        }
        catch (JsonException e)
        {
            return Invalid(0, "", $"the request body is not valid JSON: {e.Message}");
        }

        var root = document.RootElement;
        List<JsonElement> items = root.ValueKind == JsonValueKind.Array ? [.. root.EnumerateArray()] : [root];
        return Validate(items, document);
    }

    private Outcome ReadNdjson(byte[] body)
    {
        var documents = new DocumentSet();
        var items = new List<JsonElement>();
        var errors = new List<ValidationError>();
        var rest = body.AsMemory();
        var line = 0;
        while (!rest.IsEmpty)
        {
            line++;
            var end = rest.Span.IndexOf((byte)'\n');
            var text = end < 0 ? rest : rest[..end];
            rest = end < 0 ? default : rest[(end + 1)..];
            if (text.Span.Trim(" \t\r"u8).IsEmpty)
            {
                continue;
            }
            try
            {
                var document = JsonDocument.Parse(text, ParseOptions);
                documents.Add(document);
                items.Add(document.RootElement);
            }
            catch (JsonException e)
            {
                errors.Add(new ValidationError(items.Count, "", $"line {line} is not valid JSON: {e.Message}"));
                items.Add(default);
            }
        }
        if (errors.Count > 0)
        {
            documents.Dispose();
            return Reject(InvalidEvents(errors));
        }
        return Validate(items, documents);
    }

    private Outcome Validate(List<JsonElement> items, IDisposable documents)
    {
        var rejection = CheckCounts(items);
        if (rejection is null)
        {
            var errors = new List<ValidationError>();
            var events = new List<ValidatedEvent>(items.Count);
            for (var i = 0; i < items.Count; i++)
            {
                if (EnvelopeValidator.Validate(items[i], i, errors) is { } evt)
                {
                    events.Add(evt);
                }
            }
            if (errors.Count == 0)
            {
                return new Outcome(events, null, documents);
            }
            rejection = InvalidEvents(errors);
        }
        documents.Dispose();
        return Reject(rejection);
    }

    private Problem? CheckCounts(List<JsonElement> items)
    {
        if (items.Count == 0)
        {
            return Problem.Create(StatusCodes.Status400BadRequest, "no-events", "No events", "The request holds no events.",
                [new ValidationError(0, "", "the request holds no events")]);
        }
        if (items.Count > _limits.MaxEvents)
        {
            return TooLarge($"The request holds {items.Count} events; the limit is {_limits.MaxEvents}.").Rejection;
        }
        for (var i = 0; i < items.Count; i++)
        {
            var size = JsonMarshal.GetRawUtf8Value(items[i]).Length;
            if (size > _limits.MaxEventBytes)
            {
                return TooLarge(string.Create(CultureInfo.InvariantCulture,
                    $"Event {i} is {size} bytes; the limit per event is {_limits.MaxEventBytes}.")).Rejection;
            }
        }
        return null;
    }

    /// <summary>The whole body, or null when it exceeds the limit; read straight into its own array when its length is announced.</summary>
    private async Task<byte[]?> ReadBodyAsync(Stream body, long? announced, CancellationToken cancellationToken)
    {
        if (announced is { } length)
        {
            var exact = new byte[length];
            await body.ReadExactlyAsync(exact, cancellationToken);
            return exact;
        }
        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await body.ReadAsync(chunk, cancellationToken)) > 0)
        {
            if (buffer.Length + read > _limits.MaxBodyBytes)
            {
                return null;
            }
            buffer.Write(chunk, 0, read);
        }
        return buffer.ToArray();
    }

    /// <summary>The body's content coding unless it is none (identity): ingest reads bodies as they are sent.</summary>
    private static string? Encoded(HttpRequest request)
    {
        var coding = request.Headers.ContentEncoding.ToString().Trim();
        return coding.Length == 0 || coding.Equals("identity", StringComparison.OrdinalIgnoreCase) ? null : coding;
    }

    private static bool IsJson(string? contentType) => MediaTypeIs(contentType, "application/json");

    private static bool IsNdjson(string? contentType) =>
        MediaTypeIs(contentType, "application/x-ndjson") || MediaTypeIs(contentType, "application/jsonl");

    private static bool MediaTypeIs(string? contentType, string mediaType) =>
        contentType is not null
        && Microsoft.Net.Http.Headers.MediaTypeHeaderValue.TryParse(contentType, out var parsed)
        && string.Equals(parsed.MediaType.Value, mediaType, StringComparison.OrdinalIgnoreCase)
        && (!parsed.Charset.HasValue || string.Equals(parsed.Charset.Value, "utf-8", StringComparison.OrdinalIgnoreCase));

    private static Outcome Reject(Problem problem) => new(null, problem, null);

    private Outcome TooLarge(string detail) =>
        Reject(Problem.Create(StatusCodes.Status413PayloadTooLarge, "too-large", "Request too large", detail));

    private static Outcome Invalid(int index, string field, string message) =>
        Reject(InvalidEvents([new ValidationError(index, field, message)]));

    private static Problem InvalidEvents(List<ValidationError> errors) =>
        Problem.Create(StatusCodes.Status400BadRequest, "invalid-events", "Invalid events",
            errors.Count == 1
                ? $"Nothing was written: {Describe(errors[0])}"
                : $"Nothing was written: {errors.Count} problems, the first: {Describe(errors[0])}",
            errors.Count <= MaxReportedErrors ? errors : errors[..MaxReportedErrors]);

    private static string Describe(ValidationError e) =>
        e.Field.Length == 0
            ? string.Create(CultureInfo.InvariantCulture, $"event {e.Index}: {e.Message}")
            : string.Create(CultureInfo.InvariantCulture, $"event {e.Index}, {e.Field} {e.Message}");

    private sealed class DocumentSet : List<JsonDocument>, IDisposable
    {
        public void Dispose() => ForEach(d => d.Dispose());
    }
}
