using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using Arena.Cli;
using Arena.Contracts;
using Arena.Messaging;
using Arena.Pipeline.Tests.Infrastructure;
using StackExchange.Redis;

namespace Arena.Pipeline.Tests.Deployment;

/// <summary>
/// The compose stack's own files run for real (<see cref="ComposeStack"/>), under a short
/// load that touches every path: runs with a game result, duplicates, rejections, a poison
/// entry for both groups, SSE clients from history and live, and the operator CLI.
/// </summary>
public sealed partial class ComposeStackTests(ComposeStack stack, ITestOutputHelper output) : IClassFixture<ComposeStack>
{
    private const string ProbeClient = "acl-probe";

    private sealed record Load(int HistoryEvents, int LiveEvents, string Status, string DeadLetters);

    /// <summary>
    /// The metrics of the Redis exporter (oliver006/redis_exporter) that dashboards and alerts read.
    /// No test runs the exporter, so these return no data here: an expression over them must only
    /// be valid PromQL. Each is a field of Redis's INFO as the exporter names it.
    /// </summary>
    private static readonly string[] ExporterMetrics =
    [
        "redis_up", "redis_memory_used_bytes", "redis_memory_max_bytes", "redis_mem_fragmentation_ratio", "redis_connected_clients",
        "redis_evicted_keys_total", "redis_rejected_connections_total", "redis_commands_rejected_calls_total",
        "redis_aof_last_write_status", "redis_aof_delayed_fsync",
    ];

    [Fact]
    public void Services_read_every_setting_compose_gives_them()
    {
        foreach (var (name, log) in stack.StartupLogs)
        {
            Assert.DoesNotContain("is not used by this service", log, StringComparison.Ordinal);
            output.WriteLine($"{name}: {stack.Compose.Environment(name).Count} settings, all read");
        }
    }

    [Fact]
    public async Task Pipeline_runs_end_to_end_as_the_acl_users_and_redis_refuses_nothing()
    {
        var load = await LoadAsync();
        Assert.Equal(21, load.HistoryEvents);
        Assert.Equal(10, load.LiveEvents);
        Assert.Contains("persister", load.Status, StringComparison.Ordinal);
        Assert.Contains("ranker", load.DeadLetters, StringComparison.Ordinal);

        var refused = (await AclLogAsync()).Where(e => !e.Contains($"name={ProbeClient}", StringComparison.Ordinal)).ToList();
        Assert.True(refused.Count == 0, "Redis refused commands of the services:\n" + string.Join('\n', refused));
    }

    [Fact]
    public async Task Groups_on_the_streams_are_the_consumer_groups_of_the_manifest()
    {
        await LoadAsync();
        var groups = await stack.Admin.GetDatabase().StreamGroupInfoAsync(StreamKeys.Events(0));
        Assert.Equal(DeployedService.All.Where(s => s.Group is not null).Select(s => s.Group!).Order(), groups.Select(g => g.Name).Order());
    }

    [Theory]
    [InlineData("persister", "/v1/runs")]
    [InlineData("ranker", "/v1/leaderboard")]
    [InlineData("sse-gateway", "/v1/runs")]
    public async Task Read_apis_need_the_stacks_read_token_and_metrics_stay_open(string service, string path)
    {
        await LoadAsync();
        using var anonymous = new HttpClient { BaseAddress = stack[service].Url };
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Add("Origin", ComposeStack.ViewerOrigin);

        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync(path)).StatusCode);
        using var reader = await stack[service].Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, reader.StatusCode);
        Assert.Equal(ComposeStack.ViewerOrigin, Assert.Single(reader.Headers.GetValues("Access-Control-Allow-Origin")));
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/metrics")).StatusCode);
    }

    [Theory]
    [InlineData("ingest", "XADD arena:{0}:events * type t", true)]
    [InlineData("ingest", "HSET arena:{0}:dedupe:600000:2941200 run-1/e1 1-1", true)]
    [InlineData("ingest", "HMGET arena:{0}:dedupe:600000:2941200 run-1/e1", true)]
    [InlineData("ingest", "XREADGROUP GROUP persister c COUNT 1 STREAMS arena:{0}:events >", false)]
    [InlineData("ingest", "XADD arena:{0}:dlq * a b", false)]
    [InlineData("ingest", "DEL arena:{0}:events", false)]
    [InlineData("ingest", "GET session:1", false)]
    [InlineData("ingest", "FLUSHALL", false)]
    [InlineData("ingest", "CONFIG GET *", false)]
    [InlineData("persister", "XREADGROUP GROUP persister c COUNT 1 STREAMS arena:{0}:events >", true)]
    [InlineData("persister", "XADD arena:{0}:dlq * a b", true)]
    [InlineData("persister", "XTRIM arena:{0}:events MINID ~ 1-0", true)]
    [InlineData("persister", "DEL arena:{0}:overflow:reporting", true)]
    [InlineData("persister", "DEL arena:{0}:events", false)]
    [InlineData("persister", "SET arena:{0}:dedupe:e1 1-1", false)]
    [InlineData("persister", "HSET arena:{0}:dedupe:arena-pipeline:86400000:20424 arena-pipeline/overflow:0:1-0:2-0 1-1", true)]
    [InlineData("persister", "HSET arena:{0}:dedupe:86400000:20424 run-1/overflow:0:1-0:2-0 1-1", false)]
    [InlineData("persister", "XGROUP DESTROY arena:{0}:events ranker", false)]
    [InlineData("persister", "KEYS *", false)]
    [InlineData("ranker", "XACK arena:{0}:events ranker 1-1", true)]
    [InlineData("ranker", "XTRIM arena:{0}:events MAXLEN 0", false)]
    [InlineData("ranker", "DEL arena:{0}:dlq", false)]
    [InlineData("ranker", "FLUSHDB", false)]
    [InlineData("sse-gateway", "XREAD COUNT 1 STREAMS arena:{0}:events 0", true)]
    [InlineData("sse-gateway", "XADD arena:{0}:events * type t", false)]
    [InlineData("sse-gateway", "XACK arena:{0}:events persister 1-1", false)]
    [InlineData("sse-gateway", "PUBLISH arena:wake 0", false)]
    [InlineData("sse-gateway", "SUBSCRIBE arena:wake", false)]
    [InlineData("sse-gateway", "XRANGE arena:{0}:dlq - +", false)]
    [InlineData("operator", "XRANGE arena:{0}:dlq - +", true)]
    [InlineData("operator", "XGROUP SETID arena:{0}:events ranker 0", true)]
    [InlineData("operator", "DEL arena:{0}:dlq", true)]
    [InlineData("operator", "GET session:1", false)]
    [InlineData("operator", "KEYS *", false)]
    [InlineData("operator", "CONFIG SET appendonly no", false)]
    [InlineData("operator", "ACL LIST", false)]
    [InlineData("operator", "SHUTDOWN", false)]
    [InlineData("redis-exporter", "INFO all", true)]
    [InlineData("redis-exporter", "CONFIG GET maxmemory", true)]
    [InlineData("redis-exporter", "SLOWLOG GET 1", true)]
    [InlineData("redis-exporter", "LATENCY LATEST", true)]
    [InlineData("redis-exporter", "CLIENT SETNAME redis_exporter", true)]
    [InlineData("redis-exporter", "CONFIG SET maxmemory 1", false)]
    [InlineData("redis-exporter", "SLOWLOG RESET", false)]
    [InlineData("redis-exporter", "XRANGE arena:{0}:events - +", false)]
    [InlineData("redis-exporter", "GET arena:{0}:size", false)]
    [InlineData("redis-exporter", "CLIENT KILL ID 1", false)]
    [InlineData("redis-exporter", "FLUSHALL", false)]
    public async Task Acl_user_may_run_only_what_its_service_calls(string user, string command, bool allowed)
    {
        var args = command.Split(' ');
        var reply = (await stack.Admin.GetDatabase().ExecuteAsync("ACL", ["DRYRUN", user, .. args])).ToString();
        if (allowed)
        {
            Assert.Equal("OK", reply);
        }
        else
        {
            Assert.Contains("no permissions", reply, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Redis_refuses_a_command_outside_the_users_rules_and_a_wrong_or_missing_password()
    {
        await using (var gateway = await ConnectionMultiplexer.ConnectAsync($"{stack.RedisConfiguration("sse-gateway")},name={ProbeClient}"))
        {
            var refused = await Assert.ThrowsAsync<RedisServerException>(() =>
                gateway.GetDatabase().StreamAddAsync(StreamKeys.Events(0), "type", "forged"));
            Assert.StartsWith("NOPERM", refused.Message, StringComparison.Ordinal);
        }
        var wrong = Regex.Replace(stack.RedisConfiguration("ingest"), "password=[^,]*", "password=wrong");
        await Assert.ThrowsAsync<RedisConnectionException>(() => ConnectionMultiplexer.ConnectAsync($"{wrong},abortConnect=true,connectTimeout=2000"));
        await using var anonymous = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{stack.RedisPort},abortConnect=false,connectTimeout=2000,name={ProbeClient}");
        await Assert.ThrowsAnyAsync<RedisException>(() => anonymous.GetDatabase().StringGetAsync("arena:probe"));
    }

    [Fact]
    public async Task Every_dashboard_panel_and_alert_expression_returns_data()
    {
        await LoadAsync();
        var expressions = DashboardExpressions().Concat(AlertExpressions()).Distinct().ToList();
        Assert.True(expressions.Count > 40, $"only {expressions.Count} expressions found");
        using var http = new HttpClient { BaseAddress = stack.Prometheus };
        // An expression over exporter metrics only has to be valid; every other one must return data.
        var exporter = expressions.Where(e => ReadsExporterMetrics(e.Where, e.Expr)).ToList();
        foreach (var (_, expr) in exporter)
        {
            await HasDataAsync(http, expr);
        }
        var missing = expressions.Except(exporter).ToDictionary(e => e.Where + ": " + e.Expr, e => e.Expr);
        // Rates and latency quantiles need activity between two scrapes: keep a little going.
        using var stop = new CancellationTokenSource();
        var trickle = TrickleAsync(stop.Token);
        try
        {
            await Wait.UntilAsync(async () =>
            {
                foreach (var (where, expr) in missing.ToList())
                {
                    if (await HasDataAsync(http, expr))
                    {
                        missing.Remove(where);
                    }
                }
                return missing.Count == 0;
            }, "every expression to return data", TimeSpan.FromSeconds(90));
        }
        catch (TimeoutException)
        {
            Assert.Fail($"{missing.Count} of {expressions.Count} expressions return no data:\n{string.Join('\n', missing.Keys)}");
        }
        finally
        {
            await stop.CancelAsync();
            await trickle;
        }
        output.WriteLine($"{expressions.Count} expressions evaluated by Prometheus, each returned data but the {exporter.Count} over exporter metrics");
    }

    /// <summary>Whether an expression reads the Redis exporter's metrics; one naming a <c>redis_</c> metric not in <see cref="ExporterMetrics"/> fails.</summary>
    private static bool ReadsExporterMetrics(string where, string expr)
    {
        var names = RedisMetric().Matches(expr).Select(m => m.Value).ToList();
        Assert.True(names.All(ExporterMetrics.Contains), $"{where}: {string.Join(", ", names.Except(ExporterMetrics))} is not a metric of the Redis exporter listed here");
        return names.Count > 0;
    }

    [Fact]
    public async Task Operator_cli_runs_every_command_as_the_operator_user_and_redis_refuses_none()
    {
        await LoadAsync();
        // A group of its own on partition 1, which the stack's services (one partition) never touch.
        var db = stack.Admin.GetDatabase();
        var stream = StreamKeys.Events(1);
        const string group = "operator-probe";
        var first = await db.StreamAddAsync(stream, [new(StreamFields.Type, EventTypes.GameEnd), new(StreamFields.Envelope, "{}")]);
        await db.StreamAddAsync(stream, [new(StreamFields.Type, EventTypes.GameEnd), new(StreamFields.Envelope, "{}")]);
        await db.StreamCreateConsumerGroupAsync(stream, group, "0");
        foreach (var entry in await db.StreamReadGroupAsync(stream, group, "probe", ">", 2))
        {
            Assert.True(await DeadLetters.AddAsync(db, group, stream, entry, 1, "probe", DateTimeOffset.UtcNow));
        }
        string[] partition = ["--partitions", "2", "--partition", "1"];

        Assert.Contains(group, await CliAsync("status", "--partitions", "2"), StringComparison.Ordinal);
        using var list = JsonDocument.Parse(await CliAsync(["dlq", "list", "--json", .. partition]));
        var ids = list.RootElement.EnumerateArray().Select(e => e.GetProperty("id").GetString()!).ToList();
        Assert.Equal(2, ids.Count);
        Assert.Contains("probe", await CliAsync(["dlq", "show", ids[0], .. partition]), StringComparison.Ordinal);
        await CliAsync(["dlq", "replay", ids[0], .. partition]);
        await CliAsync(["dlq", "purge", "--yes", .. partition]);
        await CliAsync(["replay", "--group", group, "--from", first.ToString(), "--yes", .. partition]);

        Assert.Equal(0, await db.StreamLengthAsync(StreamKeys.DeadLetters(1)));
        Assert.Equal(3, await db.StreamLengthAsync(stream));
        var probe = Assert.Single(await db.StreamGroupInfoAsync(stream), g => g.Name == group);
        Assert.Equal(StreamId.Parse(first.ToString()).Previous().ToString(), probe.LastDeliveredId);
        var refused = (await AclLogAsync()).Where(e => e.Contains("username operator", StringComparison.Ordinal)).ToList();
        Assert.True(refused.Count == 0, "Redis refused commands of the arena CLI:\n" + string.Join('\n', refused));
    }

    [Fact]
    public async Task Demo_simulator_posts_its_games_to_ingest_with_the_stacks_key()
    {
        await LoadAsync();
        var env = stack.Compose.Environment("simulator");
        var args = stack.Compose.List("simulator", "command")
            .Select(a => a == $"http://ingest:{DeployedService.Named("ingest").Port}" ? stack["ingest"].Url.ToString() : a).ToArray();
        await using var simulator = ServiceProcess.Start("arena-sim", Repo.Binary("tools/Arena.Simulator", "arena-sim"), env, output.WriteLine, args: args);
        await Wait.UntilAsync(async () =>
        {
            using var runs = JsonDocument.Parse(await stack["persister"].Http.GetStringAsync("/v1/runs"));
            return runs.RootElement.GetProperty("runs").EnumerateArray().Any(r => r.GetProperty("run_id").GetString()!.StartsWith("aoe2-", StringComparison.Ordinal));
        }, "a game of the simulator stored by the persister", TimeSpan.FromSeconds(60));
    }

    [Fact]
    public async Task Dead_letter_alert_goes_off_when_poison_reaches_the_dlq()
    {
        await LoadAsync();
        using var http = new HttpClient { BaseAddress = stack.Prometheus };
        await Wait.UntilAsync(async () =>
        {
            using var alerts = JsonDocument.Parse(await http.GetStringAsync("/api/v1/alerts"));
            return alerts.RootElement.GetProperty("data").GetProperty("alerts").EnumerateArray()
                .Any(a => a.GetProperty("labels").GetProperty("alertname").GetString() == "DeadLettersPresent");
        }, "the DeadLettersPresent alert", TimeSpan.FromSeconds(30));
    }

    private Task<Load> LoadAsync() => stack.OnceAsync(DriveLoadAsync);

    private async Task<Load> DriveLoadAsync()
    {
        var ingest = stack["ingest"].Http;
        var runs = Enumerable.Range(1, 3).Select(r => $"compose-{r}").ToList();
        foreach (var run in runs)
        {
            await Events.AcceptedAsync(await Events.PostAsync(ingest,
                Events.Array([.. Events.Run(run, 20), Events.GameEnd(run, ("model-a", 1), ("model-b", 2))]), apiKey: ComposeStack.ApiKey));
        }
        var again = await Events.AcceptedAsync(await Events.PostAsync(ingest, Events.Array(Events.Run(runs[0], 20)), apiKey: ComposeStack.ApiKey));
        Assert.All(again, r => Assert.True(r.Duplicate));
        Assert.Equal(HttpStatusCode.BadRequest, (await Events.PostAsync(ingest, "{}", apiKey: ComposeStack.ApiKey)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await Events.PostAsync(ingest, Events.Array(Events.Run("no-key", 1)))).StatusCode);
        await stack.Admin.GetDatabase().StreamAddAsync(StreamKeys.Events(0),
            [new(StreamFields.Type, EventTypes.GameEnd), new(StreamFields.Envelope, "{not json")]);

        var gateway = stack["sse-gateway"].Http;
        var history = await SseClient.ReadAsync(gateway, $"/v1/runs/{runs[0]}/stream", null, e => e.Count == 21, TimeSpan.FromSeconds(30));
        Assert.All(history, e => Assert.Contains("\"producer\":\"compose-harness\"", e.Data, StringComparison.Ordinal));
        var connected = new TaskCompletionSource();
        var live = SseClient.ReadAsync(gateway, "/v1/runs/compose-live/stream?from=live", null, e => e.Count == 10, TimeSpan.FromSeconds(30),
            () => connected.SetResult());
        await connected.Task;
        await Events.AcceptedAsync(await Events.PostAsync(ingest, Events.Array(Events.Run("compose-live", 10)), apiKey: ComposeStack.ApiKey));
        var liveEvents = await live;

        var db = stack.Admin.GetDatabase();
        await Wait.UntilAsync(async () => await db.StreamLengthAsync(StreamKeys.DeadLetters(0)) == 2, "the poison entry in the DLQ once per group");
        await Wait.UntilAsync(async () =>
        {
            using var board = JsonDocument.Parse(await stack["ranker"].Http.GetStringAsync("/v1/leaderboard"));
            return board.RootElement.GetProperty("games").GetInt32() == runs.Count;
        }, "the ranker to count every game");
        await Wait.UntilAsync(async () =>
        {
            using var events = JsonDocument.Parse(await stack["persister"].Http.GetStringAsync("/v1/runs/compose-live/events?limit=100"));
            return events.RootElement.GetProperty("events").GetArrayLength() == 10;
        }, "the persister to store the live run");

        return new Load(history.Count, liveEvents.Count, await CliAsync("status"), await CliAsync("dlq", "list"));
    }

    /// <summary>A live SSE client and a few events a second, a game among them, until stopped.</summary>
    private async Task TrickleAsync(CancellationToken stop)
    {
        var reader = SseClient.ReadAsync(stack["sse-gateway"].Http, "/v1/runs/compose-trickle/stream?from=live", null,
            _ => stop.IsCancellationRequested, TimeSpan.FromMinutes(3));
        for (var seq = 1; !stop.IsCancellationRequested; seq++)
        {
            List<string> events = [Events.TurnStart("compose-trickle", seq, $"compose-trickle:{seq}")];
            if (seq % 5 == 0)
            {
                events.Add(Events.GameEnd($"compose-trickle-game-{seq}", ("model-a", 2), ("model-b", 1)));
            }
            await Events.AcceptedAsync(await Events.PostAsync(stack["ingest"].Http, Events.Array(events), apiKey: ComposeStack.ApiKey));
            try
            {
                await Task.Delay(250, stop);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
        // One more event wakes the reader so it sees the stop.
        await Events.PostAsync(stack["ingest"].Http, Events.Array([Events.TurnStart("compose-trickle", 1_000_000)]), apiKey: ComposeStack.ApiKey);
        await reader;
    }

    private async Task<string> CliAsync(params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var exit = await ArenaCli.RunAsync([.. args, "--redis", stack.RedisConfiguration("operator")], stdout, stderr);
        Assert.True(exit == ArenaCli.Ok, $"arena {string.Join(' ', args)} as the operator user: {stderr}");
        return stdout.ToString();
    }

    private async Task<List<string>> AclLogAsync()
    {
        var entries = (RedisResult[])(await stack.Admin.GetDatabase().ExecuteAsync("ACL", "LOG", "1000"))!;
        return [.. entries.Select(e => string.Join(' ', ((RedisResult[])e!).Select(part => part.ToString())))];
    }

    private static async Task<bool> HasDataAsync(HttpClient http, string expr)
    {
        using var response = await http.GetAsync("/api/v1/query?query=" + Uri.EscapeDataString(expr));
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.True(response.IsSuccessStatusCode, $"Prometheus rejected {expr}: {body.RootElement}");
        return body.RootElement.GetProperty("data").GetProperty("result").EnumerateArray()
            .Any(series => series.GetProperty("value")[1].GetString() is not ("NaN" or null));
    }

    /// <summary>Every target of every panel (rows included), with Grafana's interval variables given values.</summary>
    private static IEnumerable<(string Where, string Expr)> DashboardExpressions()
    {
        foreach (var file in Directory.GetFiles(Path.Combine(ComposeFile.Dir, "grafana", "dashboards"), "*.json"))
        {
            using var dashboard = JsonDocument.Parse(File.ReadAllText(file));
            foreach (var panel in Panels(dashboard.RootElement))
            {
                if (!panel.TryGetProperty("targets", out var targets))
                {
                    continue;
                }
                foreach (var target in targets.EnumerateArray())
                {
                    var expr = target.GetProperty("expr").GetString()!
                        .Replace("$__rate_interval", "1m", StringComparison.Ordinal)
                        .Replace("$__interval", "5s", StringComparison.Ordinal)
                        .Replace("$__range", "10m", StringComparison.Ordinal);
                    Assert.DoesNotContain("$", expr, StringComparison.Ordinal);
                    yield return ($"{Path.GetFileName(file)} / {panel.GetProperty("title").GetString()}", expr);
                }
            }
        }
    }

    private static IEnumerable<JsonElement> Panels(JsonElement parent) =>
        parent.TryGetProperty("panels", out var panels)
            ? panels.EnumerateArray().SelectMany(p => Panels(p).Prepend(p))
            : [];

    /// <summary>Each alert's expression with its one comparison made a <c>bool</c>, so it returns data whether or not it fires.</summary>
    private static IEnumerable<(string Where, string Expr)> AlertExpressions()
    {
        var rules = File.ReadAllText(Path.Combine(ComposeFile.Dir, "prometheus", "alerts.yml"));
        foreach (Match m in AlertRule().Matches(rules))
        {
            var expr = m.Groups["expr"].Value.Trim();
            var comparison = Comparison().Match(expr);
            Assert.True(comparison.Success, $"alert {m.Groups["name"].Value}: '{expr}' is not '<expression> <comparison> <number>'");
            yield return ($"alert {m.Groups["name"].Value}", $"{comparison.Groups[1].Value} {comparison.Groups[2].Value} bool {comparison.Groups[3].Value}");
        }
    }

    [GeneratedRegex(@"\bredis_[a-z_]+")]
    private static partial Regex RedisMetric();

    [GeneratedRegex(@"- alert: (?<name>\S+)\s+expr: (?<expr>[^\n]+)")]
    private static partial Regex AlertRule();

    [GeneratedRegex(@"^(.*\S)\s*(==|!=|>=|<=|>|<)\s*(-?[\d.]+)$")]
    private static partial Regex Comparison();
}
