using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Arena.Pipeline.Tests.Infrastructure;

/// <summary>Builds valid envelopes for tests and posts them.</summary>
internal static class Events
{
    public static string TurnStart(string runId, long seq, string? eventId = null)
    {
        var id = eventId is null ? "" : $"\"event_id\":\"{eventId}\",";
        return string.Create(CultureInfo.InvariantCulture,
            $"{{{id}\"run_id\":\"{runId}\",\"seq\":{seq},\"type\":\"turn_start\",\"schema_version\":1,\"ts\":\"2026-11-23T10:00:00.123Z\",\"payload\":{{\"turn\":{seq},\"player_id\":\"p1\"}}}}");
    }

    /// <summary><paramref name="count"/> events of one run with producer ids <c>{runId}:{seq}</c>.</summary>
    public static List<string> Run(string runId, int count, int firstSeq = 1) =>
        [.. Enumerable.Range(firstSeq, count).Select(seq => TurnStart(runId, seq, $"{runId}:{seq}"))];

    /// <summary>A <c>game_end</c> of <paramref name="runId"/> with event id <c>{runId}:end</c>; players p0, p1, … in order.</summary>
    public static string GameEnd(string runId, params (string Model, int Rank)[] results)
    {
        var entries = results.Select((r, i) => string.Create(CultureInfo.InvariantCulture,
            $"{{\"player_id\":\"p{i}\",\"model\":\"{r.Model}\",\"rank\":{r.Rank}}}"));
        return "{\"event_id\":\"" + runId + ":end\",\"run_id\":\"" + runId
            + "\",\"seq\":99,\"type\":\"game_end\",\"schema_version\":1,\"ts\":\"2026-11-23T10:00:00Z\",\"payload\":{\"results\":["
            + string.Join(",", entries) + "]}}";
    }

    /// <summary>An <c>observation</c> of <paramref name="runId"/> with event id <c>{runId}:{seq}</c> whose text is <paramref name="chars"/> random characters, which no compression shrinks.</summary>
    public static string LargeObservation(string runId, long seq, int chars)
    {
        var text = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(chars * 3 / 4 + 3))[..chars];
        return string.Create(CultureInfo.InvariantCulture,
            $"{{\"event_id\":\"{runId}:{seq}\",\"run_id\":\"{runId}\",\"seq\":{seq},\"type\":\"observation\",\"schema_version\":1,\"ts\":\"2026-11-23T10:00:00.123Z\",\"payload\":{{\"turn\":{seq},\"player_id\":\"p1\",\"observation\":\"{text}\"}}}}");
    }

    public static string Array(IEnumerable<string> events) => "[" + string.Join(",", events) + "]";

    public static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

    public static ByteArrayContent Raw(byte[] body, string contentType)
    {
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        return content;
    }

    public static async Task<HttpResponseMessage> PostAsync(HttpClient http, string body, string contentType = "application/json", string? apiKey = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/events") { Content = Raw(Encoding.UTF8.GetBytes(body), contentType) };
        if (apiKey is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        }
        return await http.SendAsync(request);
    }

    public static async Task<JsonElement> ReadJsonAsync(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    /// <summary>The results of a 202, asserting the status.</summary>
    public static async Task<List<(string EventId, string StreamId, bool Duplicate)>> AcceptedAsync(HttpResponseMessage response)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == System.Net.HttpStatusCode.Accepted, $"expected 202, got {(int)response.StatusCode}: {body}");
        return [.. JsonDocument.Parse(body).RootElement.GetProperty("results").EnumerateArray()
            .Select(r => (r.GetProperty("event_id").GetString()!, r.GetProperty("stream_id").GetString()!, r.GetProperty("duplicate").GetBoolean()))];
    }
}
