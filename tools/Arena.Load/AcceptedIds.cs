using System.Text.Json;
using Arena.Contracts;

namespace Arena.Load;

/// <summary>
/// What the load generator needs of ingest's <c>202</c> (<c>{"results":[{"event_id","stream_id","duplicate"}]}</c>):
/// the highest stream ID in it, read without building a document.
/// </summary>
public static class AcceptedIds
{
    /// <exception cref="FormatException">The answer names no stream ID, or one that is not a stream ID.</exception>
    public static StreamId Highest(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json);
        StreamId? highest = null;
        var inResults = false;
        while (reader.Read())
        {
            if (reader.TokenType != JsonTokenType.PropertyName)
            {
                continue;
            }
            if (reader.CurrentDepth == 1)
            {
                inResults = reader.ValueTextEquals("results"u8);
                if (!inResults)
                {
                    reader.Read();
                    reader.Skip();
                }
            }
            else if (inResults && reader.CurrentDepth == 3 && reader.ValueTextEquals("stream_id"u8))
            {
                reader.Read();
                var id = StreamId.Parse(reader.GetString() ?? throw new FormatException("ingest's 202 has a null stream_id"));
                if (highest is null || id > highest)
                {
                    highest = id;
                }
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }
        return highest ?? throw new FormatException("ingest's 202 names no stream_id");
    }
}
