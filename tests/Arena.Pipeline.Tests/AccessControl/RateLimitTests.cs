using System.Net;
using System.Text.RegularExpressions;
using Arena.Contracts;
using Arena.Pipeline.Tests.Infrastructure;

namespace Arena.Pipeline.Tests.AccessControl;

/// <summary>The per-producer token bucket on <c>POST /v1/events</c>.</summary>
public sealed class RateLimitTests(ITestOutputHelper output) : PipelineTest(output)
{
    protected override IDictionary<string, string>? IngestSettings => new Dictionary<string, string>
    {
        ["Arena__ApiKeys"] = "alpha:alpha-key-0042,beta:beta-key-0043",
        ["Ingest__RateLimitPerSecond"] = "1",
        ["Ingest__RateLimitBurst"] = "3",
    };

    /// <summary>Posts one event per request, all at once; returns each request's event id and response.</summary>
    private static async Task<List<(string EventId, HttpResponseMessage Response)>> BurstAsync(HttpClient ingest, string runId, int requests, string? key)
    {
        var responses = await Task.WhenAll(Enumerable.Range(1, requests).Select(async seq =>
            ($"{runId}:{seq}", await Events.PostAsync(ingest, Events.TurnStart(runId, seq, $"{runId}:{seq}"), apiKey: key))));
        return [.. responses];
    }

    [Fact]
    public async Task Producer_over_its_rate_gets_429_with_retry_after_nothing_written_and_others_go_on()
    {
        var burst = await BurstAsync(Ingest.Http, "run-a", 8, "alpha-key-0042");

        var refused = burst.Where(r => r.Response.StatusCode == HttpStatusCode.TooManyRequests).ToList();
        var accepted = burst.Where(r => r.Response.StatusCode == HttpStatusCode.Accepted).ToList();
        Assert.Equal(8, refused.Count + accepted.Count);
        // A bucket of 3 refilled at 1/s: 8 requests sent at once cannot all pass.
        Assert.InRange(accepted.Count, 3, 5);
        foreach (var (_, response) in refused)
        {
            Assert.True(int.Parse(response.Headers.RetryAfter!.ToString(), System.Globalization.CultureInfo.InvariantCulture) >= 1);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            Assert.Contains("'alpha' is over its rate limit", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
        var stored = (await Db.StreamRangeAsync(PipelineState.Stream)).Select(e => e[StreamFields.EventId].ToString()).Order();
        Assert.Equal(accepted.Select(r => r.EventId).Order(), stored);

        // Another key has its own bucket.
        Assert.All(await BurstAsync(Ingest.Http, "run-b", 3, "beta-key-0043"), r => Assert.Equal(HttpStatusCode.Accepted, r.Response.StatusCode));

        var metrics = await Ingest.Http.GetStringAsync("/metrics");
        var counted = Regex.Match(metrics, @"arena_ingest_requests_rate_limited_total\{[^}]*producer=""alpha""[^}]*\} (\d+)");
        Assert.True(counted.Success, "no rate_limited series for alpha");
        Assert.Equal(refused.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), counted.Groups[1].Value);
        Assert.DoesNotMatch(@"arena_ingest_requests_rate_limited_total\{[^}]*producer=""beta""", metrics);
    }

    [Fact]
    public async Task Open_ingest_limits_each_remote_address()
    {
        await using var open = await TestServices.Ingest(Redis, Output, new Dictionary<string, string>
        {
            ["Ingest__RateLimitPerSecond"] = "1",
            ["Ingest__RateLimitBurst"] = "1",
        }).WaitReadyAsync();

        var burst = await BurstAsync(open.Http, "run-o", 4, null);

        Assert.Contains(burst, r => r.Response.StatusCode == HttpStatusCode.TooManyRequests);
        Assert.Matches(@"arena_ingest_requests_rate_limited_total\{[^}]*producer=""anonymous""[^}]*\} [1-9]", await open.Http.GetStringAsync("/metrics"));
    }

    [Fact]
    public async Task Rate_limit_is_off_by_default()
    {
        await using var unlimited = await TestServices.Ingest(Redis, Output).WaitReadyAsync();

        Assert.All(await BurstAsync(unlimited.Http, "run-u", 20, null), r => Assert.Equal(HttpStatusCode.Accepted, r.Response.StatusCode));
    }
}
