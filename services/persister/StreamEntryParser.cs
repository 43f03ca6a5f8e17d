using System.Globalization;
using System.Text;
using Arena.Contracts;
using Arena.Persister.Storage;
using StackExchange.Redis;

namespace Arena.Persister;

/// <summary>Turns a stream entry into a row, or says why it never can.</summary>
public static class StreamEntryParser
{
    public static StoredEvent? Parse(int partition, StreamEntry entry, out string? problem)
    {
        if (!StreamId.TryParse(entry.Id.ToString(), out var id))
        {
            problem = $"'{entry.Id}' is not a stream ID";
            return null;
        }
        var envelope = entry[StreamFields.Envelope];
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
        var ingestedAt = long.TryParse(entry[StreamFields.IngestedAt].ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out var ms)
            ? DateTimeOffset.FromUnixTimeMilliseconds(ms)
            : DateTimeOffset.FromUnixTimeMilliseconds(id.Milliseconds);
        var producer = entry[StreamFields.Producer];
        return new StoredEvent(partition, id, header, ingestedAt, Encoding.UTF8.GetString(json), producer.IsNull ? null : producer.ToString());
    }
}
