using System.Text.Json;
using Arena.Contracts;

namespace Arena.Load;

/// <summary>
/// The persister's committed high-water marks, <c>GET /v1/committed</c>
/// (<c>{"partitions":[{"partition","committed_through","pending","oldest_pending"}]}</c>):
/// per partition, the stream ID up to which every entry is committed, or null.
/// </summary>
public static class CommittedMarks
{
    /// <summary>The marks indexed by partition; as many as the persister has partitions.</summary>
    /// <exception cref="FormatException">The answer does not list partitions 0 to n−1 once each with a stream ID or null.</exception>
    /// <exception cref="JsonException">The answer is not JSON.</exception>
    public static StreamId?[] Read(ReadOnlyMemory<byte> json)
    {
        using var document = JsonDocument.Parse(json);
        if (document.RootElement.ValueKind != JsonValueKind.Object
            || !document.RootElement.TryGetProperty("partitions", out var partitions) || partitions.ValueKind != JsonValueKind.Array
            || partitions.GetArrayLength() == 0)
        {
            throw new FormatException("the persister's /v1/committed answer has no partitions");
        }
        var marks = new StreamId?[partitions.GetArrayLength()];
        var seen = new bool[marks.Length];
        foreach (var item in partitions.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Object
                || !item.TryGetProperty("partition", out var number) || !number.TryGetInt32(out var p) || p < 0 || p >= marks.Length || seen[p]
                || !item.TryGetProperty("committed_through", out var through))
            {
                throw new FormatException($"the persister's /v1/committed answer does not list partitions 0 to {marks.Length - 1} once each");
            }
            seen[p] = true;
            marks[p] = through.ValueKind == JsonValueKind.Null ? null
                : StreamId.TryParse(through.ValueKind == JsonValueKind.String ? through.GetString() : null, out var id) ? id
                : throw new FormatException($"partition {p}'s committed_through is not a stream ID: {through.GetRawText()}");
        }
        return marks;
    }
}
