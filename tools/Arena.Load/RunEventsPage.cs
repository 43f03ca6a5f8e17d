using System.Text.Json;

namespace Arena.Load;

/// <summary>
/// What the load generator needs of a persister page <c>GET /v1/runs/{run_id}/events</c>
/// (<c>{"run_id", "events": [...], "next_after"}</c>): how many events it holds and the
/// stream ID of the last one, read without building a document.
/// </summary>
public readonly record struct RunEventsPage(int Count, string? LastStreamId)
{
    public static RunEventsPage Read(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json);
        var count = 0;
        string? last = null;
        var inEvents = false;
        while (reader.Read())
        {
            switch (reader.TokenType)
            {
                case JsonTokenType.PropertyName when reader.CurrentDepth == 1:
                    inEvents = reader.ValueTextEquals("events"u8);
                    if (!inEvents)
                    {
                        reader.Read();
                        reader.Skip();
                    }
                    break;
                case JsonTokenType.StartObject when inEvents && reader.CurrentDepth == 2:
                    count++;
                    break;
                case JsonTokenType.PropertyName when inEvents && reader.CurrentDepth == 3:
                    if (reader.ValueTextEquals("stream_id"u8))
                    {
                        reader.Read();
                        last = reader.GetString();
                    }
                    else
                    {
                        reader.Read();
                        reader.Skip();
                    }
                    break;
                default:
                    break;
            }
        }
        return new RunEventsPage(count, last);
    }
}
