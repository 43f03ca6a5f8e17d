using System.Text.Json;
using System.Text.RegularExpressions;
using Arena.Pipeline.Tests.Infrastructure;

namespace Arena.Pipeline.Tests;

/// <summary>
/// The Python client in clients/python, run with python3 against real Redis, ingest (with an
/// API key), persister and gateway processes: its unit tests, a simulated match published and
/// followed back across a gateway restart, and the first example of its README as written.
/// </summary>
public sealed partial class PythonClientTests(ITestOutputHelper output) : PipelineTest(output)
{
    private const string ApiKey = "python-key";
    private static readonly string ClientDir = Path.Combine(Repo.Root, "clients", "python");

    protected override IDictionary<string, string>? IngestSettings => new Dictionary<string, string> { ["Arena__ApiKeys"] = $"python:{ApiKey}" };

    private Dictionary<string, string> PythonEnvironment(ServiceProcess? gateway = null)
    {
        var environment = new Dictionary<string, string>
        {
            ["ARENA_INGEST_URL"] = Ingest.Url.ToString(),
            ["ARENA_API_KEY"] = ApiKey,
            ["PYTHONPATH"] = ClientDir,
            ["PYTHONUNBUFFERED"] = "1",
            ["PYTHONDONTWRITEBYTECODE"] = "1",
        };
        if (gateway is not null)
        {
            environment["ARENA_GATEWAY_URL"] = gateway.Url.ToString();
        }
        return environment;
    }

    [Fact]
    public async Task Python_unit_tests_pass()
    {
        var (exit, text) = await Command.RunAsync("python3", ["-m", "unittest", "discover", "-s", "clients/python/tests", "-v"],
            environment: new Dictionary<string, string> { ["PYTHONDONTWRITEBYTECODE"] = "1" }, timeout: TimeSpan.FromMinutes(3));
        Output.WriteLine(text);

        Assert.True(exit == 0, $"python3 -m unittest exited with {exit}:\n{text}");
        Assert.Matches(@"Ran [1-9]\d* tests", text);
    }

    [Fact]
    public async Task Simulated_match_published_with_the_python_client_comes_back_over_sse_once_and_in_order_across_a_gateway_restart()
    {
        await using var persister = await TestServices.Persister(Redis, DataDir, Output).WaitReadyAsync();
        await using var first = await TestServices.Gateway(Redis, Output, persister).WaitReadyAsync();
        var port = first.Port;
        await using var script = ScriptProcess.Python(Output, PythonEnvironment(first),
            Path.Combine(ClientDir, "examples", "simulated_match.py"), "--seed", "11", "--pause");

        // The first half is published and followed back; then the gateway dies and a successor takes its port.
        await Wait.UntilAsync(() => script.HasExited || script.Lines.Contains("paused"), "the script to publish and receive the first half", TimeSpan.FromSeconds(120));
        Assert.False(script.HasExited, $"the script ended early:\n{script.Text}");
        await first.KillAsync();
        await using var second = await TestServices.Gateway(Redis, Output, persister, port: port).WaitReadyAsync();
        script.WriteLine("go");

        var exit = await script.WaitForExitAsync(TimeSpan.FromSeconds(150));
        Assert.True(exit == 0, $"the script exited with {exit}:\n{script.Text}");
        Assert.Contains("OK: every event arrived once and in order on both followers", script.Lines);

        // Stored once each too: the ten re-sent events were duplicates.
        using var summary = JsonDocument.Parse(script.Lines.Single(l => l.StartsWith('{')));
        var runId = summary.RootElement.GetProperty("run_id").GetString()!;
        var count = summary.RootElement.GetProperty("events").GetInt32();
        Assert.Equal(10, summary.RootElement.GetProperty("duplicates").GetInt32());
        Assert.All(summary.RootElement.GetProperty("connections").EnumerateObject(), c => Assert.True(c.Value.GetInt32() >= 2, $"{c.Name} did not reconnect"));
        await Wait.UntilAsync(async () => (await StoredSeqsAsync(persister, runId)).Count == count, "the persister to store the run");
        Assert.Equal(Enumerable.Range(1, count).Select(i => (long)i), await StoredSeqsAsync(persister, runId));
    }

    [Fact]
    public async Task Readme_first_example_runs_as_written()
    {
        await using var persister = await TestServices.Persister(Redis, DataDir, Output).WaitReadyAsync();
        var readme = await File.ReadAllTextAsync(Path.Combine(ClientDir, "README.md"));
        var example = FirstPythonBlock().Match(readme);
        Assert.True(example.Success, "clients/python/README.md has no ```python block");
        Assert.Contains("ARENA_INGEST_URL", example.Groups[1].Value, StringComparison.Ordinal);
        var file = Path.Combine(DataDir, "readme_example.py");
        await File.WriteAllTextAsync(file, example.Groups[1].Value);

        var (exit, text) = await Command.RunAsync("python3", [file], workingDirectory: DataDir, environment: PythonEnvironment(), timeout: TimeSpan.FromMinutes(2));
        Output.WriteLine(text);

        Assert.True(exit == 0, $"the README example exited with {exit}:\n{text}");
        var runId = PublishedRun().Match(text).Groups[1].Value;
        Assert.NotEmpty(runId);
        await Wait.UntilAsync(async () =>
        {
            using var runs = JsonDocument.Parse(await persister.Http.GetStringAsync("/v1/runs"));
            return runs.RootElement.GetProperty("runs").EnumerateArray()
                .Any(r => r.GetProperty("run_id").GetString() == runId && r.GetProperty("status").GetString() == "finished");
        }, "the example's run to be stored as finished");
        var seqs = await StoredSeqsAsync(persister, runId);
        Assert.Equal(Enumerable.Range(1, seqs.Count).Select(i => (long)i), seqs);
        Assert.True(seqs.Count >= 4, $"only {seqs.Count} events");
    }

    private static async Task<List<long>> StoredSeqsAsync(ServiceProcess persister, string runId)
    {
        using var page = JsonDocument.Parse(await persister.Http.GetStringAsync($"/v1/runs/{runId}/events?limit=10000"));
        return [.. page.RootElement.GetProperty("events").EnumerateArray().Select(e => e.GetProperty("seq").GetInt64())];
    }

    [GeneratedRegex(@"```python\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex FirstPythonBlock();

    [GeneratedRegex(@"published run (\S+)")]
    private static partial Regex PublishedRun();
}
