using Arena.Contracts;
using Arena.Messaging;
using Arena.Persister.Storage;
using StackExchange.Redis;

namespace Arena.Persister;

/// <summary>Turns a stream entry into a row, or says why it never can.</summary>
public static class StreamEntryParser
{
    public static StoredEvent? Parse(StreamMessage message, out string? problem)
    {
        var entry = message.Entry;
        // The runtime parsed the ID already; 0-0 is no entry's ID, and stands for one that did not parse.
        var id = message.Id;
        if (id == default && !StreamId.TryParse(entry.Id.ToString(), out id))
        {
            problem = $"'{entry.Id}' is not a stream ID";
            return null;
        }
        // One pass over the fields, each the first of its name (as entry[name] finds it).
        RedisValue envelope = RedisValue.Null, ingestedAtField = RedisValue.Null, producer = RedisValue.Null;
        foreach (var field in entry.Values ?? [])
        {
            if (envelope.IsNull && EntryField.Envelope.Is(field.Name))
            {
                envelope = field.Value;
            }
            else if (ingestedAtField.IsNull && EntryField.IngestedAt.Is(field.Name))
            {
                ingestedAtField = field.Value;
            }
            else if (producer.IsNull && EntryField.Producer.Is(field.Name))
            {
                producer = field.Value;
            }
        }
        if (envelope.IsNull)
        {
            problem = $"the entry has no '{StreamFields.Envelope}' field";
            return null;
        }
        byte[] json = envelope!;
        var header = EnvelopeHeader.TryRead(json, out problem);
        if (header is null)
        {
            return null;
        }
        var ingestedAt = EntryField.TryParseDigits(ingestedAtField, out var ms)
            ? DateTimeOffset.FromUnixTimeMilliseconds(ms)
            : DateTimeOffset.FromUnixTimeMilliseconds(id.Milliseconds);
        return new StoredEvent(message.Partition, id, header, ingestedAt, json, producer.IsNull ? null : producer.ToString());
    }
}
