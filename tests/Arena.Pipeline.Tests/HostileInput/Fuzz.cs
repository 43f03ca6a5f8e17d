using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json;
using Arena.Contracts;
using Arena.Pipeline.Tests.Infrastructure;
using CsCheck;
using StackExchange.Redis;

namespace Arena.Pipeline.Tests.HostileInput;

/// <summary>
/// Runs a property over generated cases from a fixed seed, so every run sends the same
/// requests and a failure names the case that broke it. <c>ARENA_FUZZ_CASES</c> sets how
/// many cases each property runs (more for a local hunt), <c>ARENA_FUZZ_SEED</c> another seed.
/// </summary>
internal static class Fuzz
{
    public const ulong DefaultSeed = 20261126;

    public static ulong Seed =>
        ulong.TryParse(Environment.GetEnvironmentVariable("ARENA_FUZZ_SEED"), NumberStyles.None, CultureInfo.InvariantCulture, out var seed) ? seed : DefaultSeed;

    public static int Cases(int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable("ARENA_FUZZ_CASES"), NumberStyles.None, CultureInfo.InvariantCulture, out var cases) && cases > 0 ? cases : fallback;

    /// <summary>Checks <paramref name="property"/> on <paramref name="cases"/> inputs, one at a time (they share a server and its Redis).</summary>
    public static async Task CheckAsync<T>(Gen<T> gen, int cases, Func<T, Task> property, ITestOutputHelper output)
    {
        var random = new PCG(1, Seed);
        for (var i = 0; i < cases; i++)
        {
            var input = gen.Generate(random, null, out _);
            try
            {
                await property(input);
            }
            catch (Exception e)
            {
                throw new Xunit.Sdk.XunitException($"Case {i + 1} of {cases} (seed {Seed}) failed: {input}\n{e.Message}", e);
            }
        }
        output.WriteLine($"{cases} cases from seed {Seed} held");
    }

    /// <summary>A 4xx answer that is a problem document of its status; a 400 also names what was wrong in <c>errors</c>.</summary>
    public static async Task<JsonElement> AssertProblemAsync(HttpResponseMessage response, int status, string context)
    {
        var contentType = response.Content.Headers.ContentType;
        // An event stream never ends: its body is not read.
        var text = contentType?.MediaType == "text/event-stream" ? "(an event stream)" : await ReadAsync(response.Content);
        Assert.True((int)response.StatusCode == status, $"expected {status}, got {(int)response.StatusCode} for {context}: {Preview(text)}");
        return AssertProblem(contentType, text, status, context);
    }

    private static async Task<string> ReadAsync(HttpContent content)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        return await content.ReadAsStringAsync(timeout.Token);
    }

    public static JsonElement AssertProblem(MediaTypeHeaderValue? contentType, string text, int status, string context)
    {
        Assert.True(contentType?.MediaType == "application/problem+json", $"{status} for {context} came as {contentType}: {Preview(text)}");
        var problem = JsonDocument.Parse(text).RootElement.Clone();
        Assert.Equal(status, problem.GetProperty("status").GetInt32());
        Assert.False(string.IsNullOrWhiteSpace(problem.GetProperty("detail").GetString()));
        if (status == 400)
        {
            Assert.True(problem.GetProperty("errors").GetArrayLength() > 0, $"a 400 without errors for {context}: {text}");
        }
        return problem;
    }

    /// <summary>No request ended in an unhandled exception: the server logs each one, even when its client got a 4xx.</summary>
    public static void AssertNoUnhandledException(ServiceProcess service)
    {
        var errors = service.Output.Split('\n').Where(line => line.Contains("unhandled exception", StringComparison.OrdinalIgnoreCase)).ToList();
        Assert.True(errors.Count == 0, $"{service.Name} logged unhandled exceptions:\n{string.Join("\n", errors.Select(e => e.Length <= 2000 ? e : e[..2000]))}");
    }

    public static string Preview(string text) => text.Length <= 300 ? text : text[..300] + "…";
}

/// <summary>What a refused request must leave as it was: the number of keys and the stream's length and last entry.</summary>
internal sealed record Keyspace(long Keys, long StreamLength, string? LastEntry)
{
    public static async Task<Keyspace> ReadAsync(IDatabase db)
    {
        var stream = StreamKeys.Events(0);
        var last = await db.StreamRangeAsync(stream, "-", "+", 1, Order.Descending);
        return new Keyspace((long)await db.ExecuteAsync("DBSIZE"), await db.StreamLengthAsync(stream), last.Length == 1 ? last[0].Id.ToString() : null);
    }
}
