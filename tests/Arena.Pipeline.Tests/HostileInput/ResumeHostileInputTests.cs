using System.Net;
using System.Net.Http.Headers;
using System.Numerics;
using System.Text;
using Arena.Contracts;
using Arena.Pipeline.Tests.Infrastructure;
using CsCheck;

namespace Arena.Pipeline.Tests.HostileInput;

/// <summary>A read request with hostile parameters: a run id in the path, an optional <c>Last-Event-ID</c>, query parameters (repeats allowed).</summary>
internal sealed record ReadRequest(string RunId, string? LastEventId, IReadOnlyList<(string Name, string Value)> Query)
{
    public string Url(string format) =>
        string.Format(System.Globalization.CultureInfo.InvariantCulture, format, Uri.EscapeDataString(RunId))
        + (Query.Count == 0 ? "" : "?" + string.Join("&", Query.Select(q => $"{q.Name}={Uri.EscapeDataString(q.Value)}")));

    /// <summary>What ASP.NET Core binds for a parameter: its non-empty values joined by commas (empty if all are), or null when absent.</summary>
    public string? Parameter(string name)
    {
        var values = Query.Where(q => q.Name == name).Select(q => q.Value).ToList();
        return values.Count == 0 ? null : string.Join(",", values.Where(v => v.Length > 0));
    }

    public override string ToString() => $"run '{Fuzz.Preview(RunId)}', Last-Event-ID '{LastEventId}', query {string.Join("&", Query.Select(q => $"{q.Name}={Fuzz.Preview(q.Value)}"))}";
}

/// <summary>
/// Guarantee 9 for the read side, against real processes: the SSE gateway's resume
/// parameters (<c>Last-Event-ID</c>, <c>?after=</c>, <c>?from=</c>, the run id), the
/// persister's <c>GET /v1/runs/{run_id}/events?after=&amp;limit=</c> and the ranker's
/// <c>GET /v1/models/{model}</c>. Each answer is the documented one: a 4xx problem document
/// naming a bad parameter, or the stream or page for a valid request; never a 5xx.
/// </summary>
public sealed class ResumeHostileInputTests(ITestOutputHelper output) : PipelineTest(output)
{
    protected override IDictionary<string, string>? IngestSettings => new Dictionary<string, string>();

    private const string Run = "fuzz-run";
    private const int Posted = 30;

    /// <summary>The posted events' stream IDs, in order.</summary>
    private async Task<List<StreamId>> PostRunAsync() =>
        [.. (await Events.AcceptedAsync(await Events.PostAsync(Ingest.Http, Events.Array(Events.Run(Run, Posted))))).Select(r => StreamId.Parse(r.StreamId))];

    [Fact]
    public async Task Hostile_resume_parameters_get_a_400_naming_them_and_valid_ones_the_stream()
    {
        var ids = await PostRunAsync();
        await using var persister = await TestServices.Persister(Redis, DataDir, Output).WaitReadyAsync();
        await using var gateway = await TestServices.Gateway(Redis, Output, persister).WaitReadyAsync();
        using var http = new HttpClient(new SocketsHttpHandler { RequestHeaderEncodingSelector = (_, _) => Encoding.UTF8 })
        {
            BaseAddress = gateway.Url,
            Timeout = TimeSpan.FromSeconds(30),
        };
        var last = ids[^1];

        await Fuzz.CheckAsync(StreamRequests(ids), Fuzz.Cases(300), async read =>
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, read.Url("/v1/runs/{0}/stream"));
            if (read.LastEventId is not null)
            {
                Assert.True(request.Headers.TryAddWithoutValidation("Last-Event-ID", read.LastEventId));
            }
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);

            var bad = BadStreamParameters(read, last);
            if (bad.Count == 0)
            {
                Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode} for {read}");
                Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
                return;
            }
            var problem = await Fuzz.AssertProblemAsync(response, 400, read.ToString());
            var field = problem.GetProperty("errors")[0].GetProperty("field").GetString();
            Assert.True(bad.Contains(field!), $"the problem names '{field}', not one of [{string.Join(", ", bad)}], for {read}");
        }, Output);

        // Still healthy, and a valid resume gets exactly the events after it.
        await AssertHealthyAsync(gateway);
        var rest = await SseClient.ReadAsync(gateway.Http, $"/v1/runs/{Run}/stream", ids[9].ToString(), e => e.Count >= Posted - 10, TimeSpan.FromSeconds(30));
        Assert.Equal(ids.Skip(10).Select(id => id.ToString()), rest.Select(e => e.Id));
    }

    [Fact]
    public async Task Hostile_history_and_model_queries_get_a_4xx_problem_and_valid_ones_their_answer()
    {
        await PostRunAsync();
        await using var persister = await TestServices.Persister(Redis, DataDir, Output).WaitReadyAsync();
        await using var ranker = await TestServices.Ranker(Redis, Repo.NewTempDir("ranker"), Output).WaitReadyAsync();
        await Wait.UntilAsync(async () => (await persister.Http.GetStringAsync($"/v1/runs/{Run}/events")).Contains($"\"seq\":{Posted}", StringComparison.Ordinal),
            "the run to be persisted");
        await Wait.UntilAsync(async () => (await ranker.Http.GetAsync("/v1/leaderboard")).IsSuccessStatusCode, "the ranker's first fit");

        await Fuzz.CheckAsync(HistoryRequests, Fuzz.Cases(200), async read =>
        {
            using var response = await persister.Http.GetAsync(read.Url("/v1/runs/{0}/events"));

            var bad = BadHistoryParameters(read);
            if (bad.Count == 0)
            {
                var text = await response.Content.ReadAsStringAsync();
                Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode} for {read}: {Fuzz.Preview(text)}");
                Assert.Equal(read.RunId, System.Text.Json.JsonDocument.Parse(text).RootElement.GetProperty("run_id").GetString());
                return;
            }
            var problem = await Fuzz.AssertProblemAsync(response, 400, read.ToString());
            var field = problem.GetProperty("errors")[0].GetProperty("field").GetString();
            Assert.True(bad.Contains(field!), $"the problem names '{field}', not one of [{string.Join(", ", bad)}], for {read}");
        }, Output);

        // No game was played: every model name, however hostile, is one never ranked.
        await Fuzz.CheckAsync(AnyText(4000).Where(PathSafe), Fuzz.Cases(100), async model =>
        {
            using var response = await ranker.Http.GetAsync("/v1/models/" + Uri.EscapeDataString(model));
            await Fuzz.AssertProblemAsync(response, 404, $"model '{Fuzz.Preview(model)}'");
        }, Output);

        await AssertHealthyAsync(persister);
        await AssertHealthyAsync(ranker);
        using var page = System.Text.Json.JsonDocument.Parse(await persister.Http.GetStringAsync($"/v1/runs/{Run}/events?limit=10"));
        Assert.Equal(10, page.RootElement.GetProperty("events").GetArrayLength());
    }

    [Fact]
    public async Task Bad_after_value_is_a_400_naming_after_not_last_event_id()
    {
        await using var gateway = await TestServices.Gateway(Redis, Output).WaitReadyAsync();

        using var malformed = await gateway.Http.GetAsync("/v1/runs/run-x/stream?after=99999999999999999999-0");
        using var ahead = await gateway.Http.GetAsync("/v1/runs/run-x/stream?after=5-0");

        foreach (var response in new[] { malformed, ahead })
        {
            var problem = await Fuzz.AssertProblemAsync(response, 400, "?after=");
            Assert.Equal("after", problem.GetProperty("errors")[0].GetProperty("field").GetString());
        }
    }

    private static async Task AssertHealthyAsync(ServiceProcess service)
    {
        Assert.Equal(HttpStatusCode.OK, (await service.Http.GetAsync("/healthz")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await service.Http.GetAsync("/readyz")).StatusCode);
        Fuzz.AssertNoUnhandledException(service);
    }

    // ---- What docs/api.md and schemas/ document, stated independently of the services' code ----

    private static bool IsRunId(string id) =>
        id.Length is >= 1 and <= 128 && id.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or ':' or '-');

    /// <summary><c>&lt;ms&gt;-&lt;seq&gt;</c>, both decimal and within a signed 64-bit integer.</summary>
    private static StreamId? AsStreamId(string text)
    {
        var parts = text.Split('-');
        return parts.Length == 2 && parts.All(p => p.Length > 0 && p.All(char.IsAsciiDigit) && BigInteger.Parse(p) <= long.MaxValue)
            ? new StreamId(long.Parse(parts[0]), long.Parse(parts[1]))
            : null;
    }

    /// <summary>
    /// The parameters the gateway must name in a 400: a bad run id; a resume id (the header,
    /// else <c>after</c>) that is malformed or ahead of the stream; <c>from</c> other than <c>live</c>.
    /// </summary>
    private static HashSet<string> BadStreamParameters(ReadRequest read, StreamId last)
    {
        var bad = new HashSet<string>();
        if (!IsRunId(read.RunId))
        {
            bad.Add("run_id");
        }
        var (field, resume) = string.IsNullOrEmpty(read.LastEventId) ? ("after", read.Parameter("after")) : ("Last-Event-ID", read.LastEventId);
        if (!string.IsNullOrEmpty(resume) && (AsStreamId(resume) is not { } id || id > last))
        {
            bad.Add(field);
        }
        if (read.Parameter("from") is { } from && from != "live")
        {
            bad.Add("from");
        }
        return bad;
    }

    /// <summary>The parameters the persister must name in a 400: a bad run id, a malformed <c>after</c>, a <c>limit</c> outside 1–10000.</summary>
    private static HashSet<string> BadHistoryParameters(ReadRequest read)
    {
        var bad = new HashSet<string>();
        if (!IsRunId(read.RunId))
        {
            bad.Add("run_id");
        }
        if (read.Parameter("after") is { } after && AsStreamId(after) is null)
        {
            bad.Add("after");
        }
        if (read.Parameter("limit") is { } limit
            && !(limit.Length is > 0 and < 12 && limit.All(char.IsAsciiDigit) && long.Parse(limit) is >= 1 and <= 10_000))
        {
            bad.Add("limit");
        }
        return bad;
    }

    // ---- Generators ----

    /// <summary>Printable text of any script, up to <paramref name="max"/> characters, no control characters.</summary>
    private static Gen<string> AnyText(int max) => Gen.OneOf(
        Gen.String[Gen.Char[' ', '~'], 0, 40],
        Gen.String[Gen.Char['\u00a0', '\ud7ff'], 1, 10],
        Gen.Int[1, max].Select(n => new string('9', n)));

    /// <summary>Path segments HttpClient sends as they are: dot segments would be resolved away, an empty one routes elsewhere.</summary>
    private static bool PathSafe(string segment) => segment.Length > 0 && segment is not ("." or "..");

    private static readonly Gen<string> RunIds = Gen.Frequency(
        (6, Gen.Const(Run)),
        (1, Gen.Const("fuzz-other-run")),
        (1, Gen.String[Gen.Char["abcXYZ019._:-"], 1, 128].Where(PathSafe)),
        (2, Gen.OneOf(Gen.Int[129, 4000].Select(n => new string('r', n)), AnyText(200).Where(PathSafe))));

    /// <summary>Resume ids: real ones, valid ones ahead of the stream, overflowing ones and garbage.</summary>
    private static Gen<string> ResumeIds(List<StreamId> ids) => Gen.Frequency(
        (3, Gen.Int[0, ids.Count - 1].Select(i => ids[i].ToString())),
        (1, Gen.OneOf("0-0", "1-0", $"{ids[0].Milliseconds}-0", $"{ids[^1].Milliseconds}-{ids[^1].Sequence + 1}", $"{ids[^1].Milliseconds + 1}-0",
            "9223372036854775807-9223372036854775807", "99999999999999999999-0", "1-18446744073709551615", "18446744073709551616-0")),
        (2, Gen.OneOf("-", "--", "-1", "1-", "-1-0", "1--1", "1-0-0", "abc", "1.5-0", "0x1-0", "+1-0", "1e3-0", "\u0661-\u0660", "\u2603", "0-0,1-0")),
        (2, AnyText(5000)),
        (1, Gen.Select(Gen.Long[long.MinValue, long.MaxValue], Gen.Long[long.MinValue, long.MaxValue]).Select((ms, seq) => $"{ms}-{seq}")));

    /// <summary>Header values a client can send: no control characters, no whitespace around them (HTTP drops it).</summary>
    private static bool HeaderSafe(string value) => value.Trim() == value && !value.Any(char.IsControl);

    private static Gen<ReadRequest> StreamRequests(List<StreamId> ids)
    {
        var resume = ResumeIds(ids);
        var query = Gen.OneOf(
            resume.Select(v => ("after", v)),
            Gen.Frequency((3, Gen.Const("live")), (2, Gen.OneOf("", "LIVE", "history", "live ", "0", "live,live")), (1, AnyText(300))).Select(v => ("from", v)));
        return Gen.Select(RunIds, Gen.Frequency((2, Gen.Const((string?)null)), (2, resume.Where(HeaderSafe).Select(v => (string?)v)), (1, Gen.Const((string?)""))), query.Array[0, 3])
            .Select((run, header, parameters) => new ReadRequest(run, header, parameters));
    }

    private static readonly Gen<string> Limits = Gen.Frequency(
        (2, Gen.Int[1, 10_000].Select(n => n.ToString(System.Globalization.CultureInfo.InvariantCulture))),
        (2, Gen.OneOf("0", "-1", "10001", "1e3", "1.5", "", " 5", "0x10", "99999999999", "2147483648", "\u0665", "ten")),
        (1, AnyText(300)));

    private static readonly Gen<ReadRequest> HistoryRequests =
        Gen.Select(RunIds, Gen.OneOf(
            Gen.Select(Gen.Const("after"), Gen.OneOf(Gen.OneOf("0-0", "1-0", "9223372036854775807-9223372036854775807", "-", "", "1-", "99999999999999999999-0"), AnyText(300))),
            Gen.Select(Gen.Const("limit"), Limits)).Array[0, 3])
            .Select((run, parameters) => new ReadRequest(run, null, parameters));
}
