using System.Buffers;
using System.Text.Json;
using Arena.Contracts.Validation;

namespace Arena.Contracts;

/// <summary>
/// The form in which an accepted envelope is stored and streamed: minified JSON with
/// <c>event_id</c> first and every other field, known or not, as the producer sent it.
/// </summary>
public static class CanonicalEnvelope
{
    /// <summary>The field the pipeline adds to every event it serves: producers may not send it, or an event would carry two.</summary>
    public const string StreamIdField = "stream_id";

    /// <summary>
    /// The field the pipeline adds beside <c>stream_id</c> when the event was published with an
    /// API key: the key's producer name. Producers may not send it, or a reader could take a
    /// name the producer chose for the one its key proves.
    /// </summary>
    public const string ProducerField = "producer";

    public static byte[] Write(ValidatedEvent evt, string eventId)
    {
        var buffer = new ArrayBufferWriter<byte>(evt.Json.ValueKind == JsonValueKind.Object ? 512 : 64);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("event_id", eventId);
            foreach (var property in evt.Json.EnumerateObject())
            {
                if (!property.NameEquals("event_id"))
                {
                    property.WriteTo(writer);
                }
            }
            writer.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>
    /// The envelope with <c>stream_id</c> added as its first field, and <c>producer</c> (the
    /// name of the API key it was published with) after it when known, as the history API
    /// and the live stream return it.
    /// </summary>
    public static string WithStreamId(string envelopeJson, string streamId, string? producer = null) =>
        producer is null
            ? string.Concat("{\"" + StreamIdField + "\":\"", streamId, "\",", envelopeJson.AsSpan(1))
            : string.Concat("{\"" + StreamIdField + "\":\"" + streamId + "\",\"" + ProducerField + "\":\"" + JsonEncodedText.Encode(producer).Value + "\",", envelopeJson.AsSpan(1));
}
