using System.Buffers;
using System.Buffers.Text;
using System.Text;
using System.Text.Json;
using Arena.Contracts;
using Arena.Simulator;

namespace Arena.Load;

/// <summary>
/// Writes request bodies — a JSON array of <c>observation</c> envelopes — straight into a
/// reusable buffer with pre-encoded names and pre-serialized payload contents, so building a
/// body costs a copy and a few number formats per event, not a serializer pass. The content
/// is the simulated arena's resource snapshot (<see cref="SimulatedMatch.Resources"/>) plus a
/// <c>padding</c> string sized so that each envelope is about <c>eventBytes</c> long.
/// </summary>
public sealed class EventBatchWriter
{
    private const int Variants = 64;

    private static readonly JsonEncodedText EventId = JsonEncodedText.Encode("event_id");
    private static readonly JsonEncodedText RunId = JsonEncodedText.Encode("run_id");
    private static readonly JsonEncodedText Seq = JsonEncodedText.Encode("seq");
    private static readonly JsonEncodedText Type = JsonEncodedText.Encode("type");
    private static readonly JsonEncodedText SchemaVersion = JsonEncodedText.Encode("schema_version");
    private static readonly JsonEncodedText Ts = JsonEncodedText.Encode("ts");
    private static readonly JsonEncodedText Payload = JsonEncodedText.Encode("payload");
    private static readonly JsonEncodedText Turn = JsonEncodedText.Encode("turn");
    private static readonly JsonEncodedText PlayerId = JsonEncodedText.Encode("player_id");
    private static readonly JsonEncodedText ObservationField = JsonEncodedText.Encode("observation");
    private static readonly JsonEncodedText ObservationType = JsonEncodedText.Encode(EventTypes.Observation);
    private static readonly JsonEncodedText[] Players = [JsonEncodedText.Encode("p1"), JsonEncodedText.Encode("p2")];

    private readonly byte[][] _runIds;
    private readonly byte[][] _contents;
    private readonly bool _eventIds;
    [ThreadStatic]
    private static Utf8JsonWriter? t_writer;

    /// <param name="runIds">The run IDs; each must satisfy the envelope's ID rule, and leave room for <c>:seq</c> in an event ID.</param>
    /// <param name="eventBytes">Approximate size of one envelope; below the unpadded size the events are simply unpadded.</param>
    /// <param name="eventIds">Give each event a producer <c>event_id</c> (<c>run_id:seq</c>), as an idempotent harness does.</param>
    /// <param name="seed">Seed of the resource values.</param>
    public EventBatchWriter(IReadOnlyList<string> runIds, int eventBytes, bool eventIds, int seed = 1)
    {
        foreach (var id in runIds)
        {
            if (!EnvelopeRules.Id().IsMatch(id) || id.Length > EnvelopeRules.MaxIdLength - 21)
            {
                throw new ArgumentException($"'{id}' is not a usable run ID (1 to {EnvelopeRules.MaxIdLength - 21} characters of A-Z a-z 0-9 . _ : -)", nameof(runIds));
            }
        }
        _runIds = [.. runIds.Select(Encoding.UTF8.GetBytes)];
        _eventIds = eventIds;

        var random = new Random(seed);
        var resources = Enumerable.Range(0, Variants).Select(i => SimulatedMatch.Resources(random, i % 40 + 1)).ToArray();
        _contents = [.. resources.Select(r => Content(r, 0))];

        // Size one typical event without padding (the longest run ID, a six-digit seq), then pad to the target.
        var longest = _runIds.Select((id, i) => (id.Length, i)).Max().i;
        var buffer = new ArrayBufferWriter<byte>();
        var writer = Writer(buffer);
        WriteEvent(writer, longest, 123_456, DateTimeOffset.UtcNow);
        writer.Flush();
        PaddingBytes = Math.Max(0, eventBytes - buffer.WrittenCount);
        _contents = [.. resources.Select(r => Content(r, PaddingBytes))];
    }

    /// <summary>Padding characters added to each event's content.</summary>
    public int PaddingBytes { get; }

    /// <summary>Appends a JSON array of <paramref name="count"/> events of run <paramref name="run"/>, seqs from <paramref name="firstSeq"/>.</summary>
    public void Write(IBufferWriter<byte> output, int run, long firstSeq, int count, DateTimeOffset ts)
    {
        var writer = Writer(output);
        writer.WriteStartArray();
        for (var i = 0; i < count; i++)
        {
            WriteEvent(writer, run, firstSeq + i, ts);
        }
        writer.WriteEndArray();
        writer.Flush();
    }

    private void WriteEvent(Utf8JsonWriter writer, int run, long seq, DateTimeOffset ts)
    {
        var runId = _runIds[run];
        writer.WriteStartObject();
        if (_eventIds)
        {
            Span<byte> eventId = stackalloc byte[EnvelopeRules.MaxIdLength];
            runId.CopyTo(eventId);
            eventId[runId.Length] = (byte)':';
            Utf8Formatter.TryFormat(seq, eventId[(runId.Length + 1)..], out var digits);
            writer.WriteString(EventId, eventId[..(runId.Length + 1 + digits)]);
        }
        writer.WriteString(RunId, runId);
        writer.WriteNumber(Seq, seq);
        writer.WriteString(Type, ObservationType);
        writer.WriteNumber(SchemaVersion, EventTypes.CurrentSchemaVersion);
        writer.WriteString(Ts, ts);
        writer.WriteStartObject(Payload);
        writer.WriteNumber(Turn, (seq + 1) / 2);
        writer.WriteString(PlayerId, Players[(int)(seq & 1)]);
        writer.WritePropertyName(ObservationField);
        writer.WriteRawValue(_contents[(int)(seq % Variants)], skipInputValidation: true);
        writer.WriteEndObject();
        writer.WriteEndObject();
    }

    private static Utf8JsonWriter Writer(IBufferWriter<byte> output)
    {
        var writer = t_writer ??= new Utf8JsonWriter(Stream.Null, new JsonWriterOptions { SkipValidation = true });
        writer.Reset(output);
        return writer;
    }

    private static byte[] Content(Dictionary<string, int> resources, int padding)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using var writer = new Utf8JsonWriter(buffer);
        writer.WriteStartObject();
        foreach (var (name, value) in resources)
        {
            writer.WriteNumber(name, value);
        }
        writer.WriteString("padding", new string('x', padding));
        writer.WriteEndObject();
        writer.Flush();
        return buffer.WrittenSpan.ToArray();
    }
}
