using Arena.ServiceDefaults;
using System.Globalization;
using System.IO.Pipelines;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Unicode;
using Arena.Contracts.Validation;
using Microsoft.Extensions.Options;

namespace Arena.Ingest;

/// <summary>
/// Receives a request body (one envelope, a JSON array, or NDJSON) and turns it into validated
/// events, or into the one problem that rejects the whole request. Nothing is written on rejection.
/// </summary>
public sealed class EventRequestReader(IOptions<IngestOptions> options, BodyMemoryBudget budget)
{
    private const int MaxReportedErrors = 100;
    private static readonly JsonDocumentOptions ParseOptions = new() { MaxDepth = 64, AllowDuplicateProperties = false };

    /// <summary>The reader <see cref="ParseOptions"/> parse with (duplicate names are the validator's to find).</summary>
    private static readonly JsonReaderOptions ReaderOptions = new() { MaxDepth = ParseOptions.MaxDepth };

    private readonly IngestOptions _limits = options.Value;

    /// <summary>A body that arrived whole, to dispose once the request is answered, or the problem that refused it.</summary>
    public sealed record Received(RequestBody? Body, bool Ndjson, Problem? Rejection);

    public sealed record Outcome(IReadOnlyList<ValidatedEvent>? Events, Problem? Rejection, IDisposable? Documents);

    public async Task<Received> ReceiveAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        var ndjson = IsNdjson(request.ContentType);
        if (!ndjson && !IsJson(request.ContentType))
        {
            return Refuse(Problem.Create(StatusCodes.Status415UnsupportedMediaType, "unsupported-media-type", "Unsupported media type",
                $"Content-Type must be application/json or application/x-ndjson, not '{request.ContentType ?? "(none)"}'."));
        }
        if (Encoded(request) is { } coding)
        {
            // Read as it is, a compressed body would be rejected as invalid UTF-8, or worse, accepted as if it were the events.
            return Refuse(Problem.Create(StatusCodes.Status415UnsupportedMediaType, "unsupported-content-encoding", "Unsupported content encoding",
                $"Content-Encoding '{coding}' is not supported; send the body uncompressed."));
        }
        if (request.ContentLength > _limits.MaxBodyBytes)
        {
            return Refuse(TooLarge($"The body is {request.ContentLength} bytes; the limit is {_limits.MaxBodyBytes}."));
        }

        var body = new RequestBody(budget);
        var received = false;
        try
        {
            var refusal = await ReceiveBodyAsync(request.BodyReader, body, (int)(request.ContentLength ?? _limits.MaxBodyBytes), cancellationToken);
            received = refusal is null;
            return received ? new Received(body, ndjson, null) : Refuse(refusal!);
        }
        finally
        {
            if (!received)
            {
                body.Dispose();
            }
        }
    }

    /// <summary>Validates a received body; the permit to do so is the caller's (backpressure).</summary>
    public Outcome Read(Received received)
    {
        var body = received.Body!.Memory;
        if (!Utf8.IsValid(body.Span))
        {
            return Invalid(0, "", "the request body is not valid UTF-8");
        }
        // Valid requests are read in one pass over their bytes; any other is read again in full, to say what is wrong.
        return (received.Ndjson ? TryReadNdjsonInOnePass(body) : TryReadJsonInOnePass(body)) is { } events
            ? new Outcome(events, null, null)
            : received.Ndjson ? ReadNdjson(body) : ReadJson(body);
    }

    /// <summary>
    /// Reads the body as its bytes arrive into <paramref name="body"/>; null when it arrived whole.
    /// The server's minimum data rate cuts off a body that stalls, <see cref="IngestOptions.BodyTimeout"/>
    /// one that trickles in just fast enough.
    /// </summary>
    private async Task<Problem?> ReceiveBodyAsync(PipeReader pipe, RequestBody body, int capacityLimit, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(_limits.BodyTimeout);
        try
        {
            while (true)
            {
                var result = await pipe.ReadAsync(deadline.Token);
                var bytes = result.Buffer;
                var refusal = body.Length + bytes.Length > _limits.MaxBodyBytes ? TooLarge($"The body exceeds the limit of {_limits.MaxBodyBytes} bytes.")
                    : !body.TryAppend(bytes, capacityLimit) ? OutOfMemoryForBodies
                    : null;
                pipe.AdvanceTo(bytes.End);
                if (refusal is not null || result.IsCompleted)
                {
                    return refusal;
                }
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return Problem.Create(StatusCodes.Status408RequestTimeout, "unreadable-body", "Unreadable request body", string.Create(CultureInfo.InvariantCulture,
                $"The request body could not be read: it did not arrive within {_limits.BodyTimeout.TotalSeconds:0.###} s; nothing was written."));
        }
        catch (BadHttpRequestException e)
        {
            // The server found the body's framing broken (it ended before its Content-Length, a bad
            // chunk) or too slow to arrive, e.g. a Content-Length larger than what is sent.
            return e.StatusCode == StatusCodes.Status400BadRequest
                ? InvalidEvents([new ValidationError(0, "", $"the request body could not be read: {e.Message}")])
                : Problem.Create(e.StatusCode, "unreadable-body", "Unreadable request body", $"The request body could not be read: {e.Message}");
        }
    }

    private static readonly Problem OutOfMemoryForBodies = Problem.Create(StatusCodes.Status429TooManyRequests, "too-many-requests", "Too many requests",
        "Ingest holds as many request bodies as its memory for them allows (Ingest:MaxBufferedBodyBytes); nothing was written. Retry after a second.");

    /// <summary>The events of a valid JSON body, as <see cref="ReadJson"/> reads them; null for any other body.</summary>
    private List<ValidatedEvent>? TryReadJsonInOnePass(ReadOnlyMemory<byte> body)
    {
        var reader = new Utf8JsonReader(body.Span, ReaderOptions);
        try
        {
            if (!reader.Read())
            {
                return null;
            }
            if (reader.TokenType != JsonTokenType.StartArray)
            {
                return Accepted(Utf8EnvelopeValidator.TryValidate(body, ref reader)) is { } single && !reader.Read() ? [single] : null;
            }
            List<ValidatedEvent>? events = null;
            while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
            {
                if (events?.Count == _limits.MaxEvents
                    || Accepted(Utf8EnvelopeValidator.TryValidate(body, ref reader, events?[^1].RunId)) is not { } evt)
                {
                    return null;
                }
                // Sized once from the first event: a batch's events are mostly alike.
                events ??= new List<ValidatedEvent>(Math.Min(_limits.MaxEvents, body.Length / evt.Utf8Json.Length + 1));
                events.Add(evt);
            }
            return events is not null && !reader.Read() ? events : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>The events of a valid NDJSON body, as <see cref="ReadNdjson"/> reads them; null for any other body.</summary>
    private List<ValidatedEvent>? TryReadNdjsonInOnePass(ReadOnlyMemory<byte> body)
    {
        var events = new List<ValidatedEvent>();
        var rest = body;
        while (NextLine(ref rest, out var text))
        {
            if (IsBlank(text))
            {
                continue;
            }
            if (events.Count == _limits.MaxEvents
                || Accepted(Utf8EnvelopeValidator.TryValidateText(text, ReaderOptions, events.Count > 0 ? events[^1].RunId : null)) is not { } evt)
            {
                return null;
            }
            events.Add(evt);
        }
        return events.Count > 0 ? events : null;
    }

    /// <summary>The event unless it is larger than an event may be (<see cref="CheckCounts"/>).</summary>
    private ValidatedEvent? Accepted(ValidatedEvent? evt) => evt?.Utf8Json.Length <= _limits.MaxEventBytes ? evt : null;

    private Outcome ReadJson(ReadOnlyMemory<byte> body)
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
        var items = new List<JsonElement>(root.ValueKind == JsonValueKind.Array ? root.GetArrayLength() : 1);
        if (root.ValueKind == JsonValueKind.Array)
        {
            items.AddRange(root.EnumerateArray());
        }
        else
        {
            items.Add(root);
        }
        return Validate(items, document);
    }

    private Outcome ReadNdjson(ReadOnlyMemory<byte> body)
    {
        var documents = new DocumentSet();
        var items = new List<JsonElement>();
        var errors = new List<ValidationError>();
        var rest = body;
        var line = 0;
        while (NextLine(ref rest, out var text))
        {
            line++;
            if (IsBlank(text))
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

    /// <summary>The next line of an NDJSON body, <paramref name="rest"/> then after it; false at the end of the body.</summary>
    private static bool NextLine(ref ReadOnlyMemory<byte> rest, out ReadOnlyMemory<byte> line)
    {
        var end = rest.Span.IndexOf((byte)'\n');
        line = end < 0 ? rest : rest[..end];
        var more = !rest.IsEmpty;
        rest = end < 0 ? default : rest[(end + 1)..];
        return more;
    }

    private static bool IsBlank(ReadOnlyMemory<byte> line) => line.Span.Trim(" \t\r"u8).IsEmpty;

    private Outcome Validate(List<JsonElement> items, IDisposable documents)
    {
        var rejection = CheckCounts(items);
        if (rejection is null)
        {
            var errors = new List<ValidationError>();
            var events = new List<ValidatedEvent>(items.Count);
            for (var i = 0; i < items.Count; i++)
            {
                if (EnvelopeValidator.Validate(items[i], i, errors, events.Count > 0 ? events[^1].RunId : null) is { } evt)
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
            return TooLarge($"The request holds {items.Count} events; the limit is {_limits.MaxEvents}.");
        }
        for (var i = 0; i < items.Count; i++)
        {
            var size = JsonMarshal.GetRawUtf8Value(items[i]).Length;
            if (size > _limits.MaxEventBytes)
            {
                return TooLarge(string.Create(CultureInfo.InvariantCulture,
                    $"Event {i} is {size} bytes; the limit per event is {_limits.MaxEventBytes}."));
            }
        }
        return null;
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

    private static Received Refuse(Problem problem) => new(null, false, problem);

    private static Problem TooLarge(string detail) =>
        Problem.Create(StatusCodes.Status413PayloadTooLarge, "too-large", "Request too large", detail);

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
