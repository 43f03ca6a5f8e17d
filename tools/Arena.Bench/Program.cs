using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.Json;
using Arena.Bench;
using Arena.Ranker.Rating;

// arena-bench: measured figures, written as Markdown and JSON with the machine they ran on.
var outDir = args.Length > 0 ? args[0] : "bench-results";
Directory.CreateDirectory(outDir);
var machine = $"{Environment.ProcessorCount} cores, {GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / (1L << 30)} GiB, {RuntimeInformation.OSDescription.Trim()}, .NET {Environment.Version}";
Console.WriteLine($"machine: {machine}");

var results = new List<Figure>();

// Ranker: one full fit of 100,000 games among 50 models, with 100 bootstrap rounds.
{
    var random = new Random(1);
    var strength = Enumerable.Range(0, 50).ToDictionary(i => $"model-{i:D2}", i => random.NextDouble() * 600);
    var models = strength.Keys.ToArray();
    var games = new List<Game>(100_000);
    for (var g = 0; g < 100_000; g++)
    {
        var players = random.NextDouble() < 0.6 ? 2 : random.Next(3, 9);
        var seated = models.OrderBy(_ => random.Next()).Take(players)
            .OrderByDescending(m => strength[m] + 170 * -Math.Log(-Math.Log(Math.Clamp(random.NextDouble(), 1e-12, 1 - 1e-12))))
            .Select((m, i) => new Placement(m, i + 1)).ToList();
        games.Add(new Game($"run-{g:D6}", "end", (0, g, 0), seated));
    }
    Console.Write("ranker fit (100,000 games × 50 models × 100 bootstrap rounds)... ");
    Leaderboard.Compute(games.Take(1000), 2, 42); // warm-up
    var clock = Stopwatch.StartNew();
    var board = Leaderboard.Compute(games, 100, 42);
    clock.Stop();
    Console.WriteLine($"{clock.Elapsed.TotalSeconds:F2} s ({board.Count} models)");
    results.Add(new Figure("ranker fit", "100,000 games × 50 models × 100 rounds", clock.Elapsed.TotalSeconds, "s"));
}

// Raw limits: what the machine does with the plain technique; the pipeline's figures are ratios of these.
var rawLimits = await MeasureRawLimitsAsync();
results.AddRange(rawLimits.All);

var markdown = new System.Text.StringBuilder().AppendLine($"Machine: {machine}");
foreach (var group in results.GroupBy(r => r.Kind))
{
    markdown.AppendLine();
    if (FigureKind.Heading(group.Key) is { } heading)
    {
        markdown.AppendLine($"## {heading}").AppendLine();
    }
    markdown.AppendLine("| benchmark | setting | result |").AppendLine("|---|---|---|");
    foreach (var figure in group)
    {
        markdown.AppendLine($"| {figure.Name} | {figure.Setting} | {figure.FormatValue()} |");
    }
}
File.WriteAllText(Path.Combine(outDir, "results.md"), markdown.ToString());
File.WriteAllText(Path.Combine(outDir, "results.json"), JsonSerializer.Serialize(new { machine, results },
    new JsonSerializerOptions { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower }));
Console.WriteLine($"written: {outDir}/results.md, {outDir}/results.json");

// On a redis-server and in a temp folder of their own, both removed afterwards.
static async Task<RawLimitFigures> MeasureRawLimitsAsync()
{
    var dir = Directory.CreateTempSubdirectory("arena-bench-").FullName;
    try
    {
        await using var redis = await ThrowawayRedis.StartAsync();
        Console.WriteLine($"raw limits (redis-server on 127.0.0.1:{redis.Port}, DuckDB in {dir}):");
        return await RawLimits.MeasureAllAsync(redis.Port, dir, figure => Console.WriteLine($"  {figure}"));
    }
    finally
    {
        Directory.Delete(dir, recursive: true);
    }
}
