using System.Text.Json;

namespace Arena.Pipeline.Tests;

/// <summary>
/// The short chaos run of CI: <c>arena-chaos</c> as a process, a fixed seed, small counts.
/// Every check of its verdict table must pass, and its figures must show the faults it claims.
/// </summary>
public sealed class ChaosTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Short_seeded_chaos_run_passes_every_check()
    {
        var outDir = Repo.NewTempDir("chaos");
        try
        {
            var (exit, text) = await Command.RunAsync("dotnet",
            [
                Repo.Binary("tools/Arena.Chaos", "arena-chaos"), "--seed", "20261126", "--events", "15000", "--rate", "800",
                "--consumer-kills", "4", "--gateway-kills", "1", "--redis-restarts", "1", "--sigterms", "1", "--poison-percent", "1",
                "--sse-clients", "4", "--throughput-seconds", "0", "--out", outDir,
            ], timeout: TimeSpan.FromMinutes(8));
            output.WriteLine(text);

            using var results = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(outDir, "results.json")));
            var root = results.RootElement;
            foreach (var check in root.GetProperty("checks").EnumerateArray())
            {
                Assert.True(check.GetProperty("verdict").GetString() == "PASS",
                    $"{check.GetProperty("name")}: expected {check.GetProperty("expected")}, found {check.GetProperty("found")}");
            }
            Assert.Equal(0, exit);
            var figures = root.GetProperty("figures");
            Assert.True(figures.GetProperty("events_accepted").GetInt64() >= 15_000);
            Assert.True(figures.GetProperty("consumer_kills").GetInt32() >= 4);
            Assert.Equal(1, figures.GetProperty("kills").GetProperty("sse-gateway").GetInt32());
            Assert.Equal(1, figures.GetProperty("redis_restarts").GetInt32());
            Assert.Equal(1, figures.GetProperty("sigterms").EnumerateObject().Sum(s => s.Value.GetInt32()));
            Assert.True(figures.GetProperty("poison_percent").GetDouble() >= 0.9);
            Assert.True(figures.GetProperty("duplicate_requests").GetInt64() > 0);
            Assert.True(figures.GetProperty("rejected_requests").GetInt64() > 0);
            Assert.Equal(0, figures.GetProperty("lost").GetInt64());
            Assert.Equal(0, figures.GetProperty("duplicated").GetInt64());
        }
        finally
        {
            Directory.Delete(outDir, recursive: true);
        }
    }
}
