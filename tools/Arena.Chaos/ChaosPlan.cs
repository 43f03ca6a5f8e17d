using System.Globalization;

namespace Arena.Chaos;

public enum FaultKind
{
    Kill,
    Terminate,
    RedisRestart,
}

/// <summary>
/// One step of the plan, taken once the producers have had <see cref="AtAccepted"/> events
/// accepted: a fault on <see cref="Service"/>, then <see cref="Downtime"/>, then its restart.
/// </summary>
public sealed record FaultStep(long AtAccepted, FaultKind Kind, string Service, TimeSpan Downtime)
{
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"@{AtAccepted} {Kind} {Service}, down {Downtime.TotalMilliseconds:F0} ms");
}

/// <summary>
/// Everything a run decides at random, drawn from one <see cref="Random"/> seeded with the
/// run's seed: the faults and their order, and the seeds of each producer and SSE client.
/// Timing still varies between runs; what is done, and in which order, does not.
/// </summary>
public sealed record ChaosPlan(IReadOnlyList<FaultStep> Steps, IReadOnlyList<int> LoadLaneSeeds, IReadOnlyList<int> GameLaneSeeds, IReadOnlyList<int> SseSeeds)
{
    public const int LoadLanes = 8;
    public const int GameLanes = 4;

    public static ChaosPlan Create(ChaosOptions options)
    {
        var random = new Random(options.Seed);
        var faults = new List<(FaultKind Kind, string Service)>();
        for (var i = 0; i < options.ConsumerKills; i++)
        {
            faults.Add((FaultKind.Kill, random.Next(2) == 0 ? Services.Persister : Services.Ranker));
        }
        for (var i = 0; i < options.Sigterms; i++)
        {
            faults.Add((FaultKind.Terminate, random.Next(2) == 0 ? Services.Persister : Services.Ranker));
        }
        faults.AddRange(Enumerable.Repeat((FaultKind.Kill, Services.Gateway), options.GatewayKills));
        faults.AddRange(Enumerable.Repeat((FaultKind.RedisRestart, Services.Redis), options.RedisRestarts));
        var shuffled = faults.OrderBy(_ => random.Next()).ToList();
        // Faults land between 3% and 90% of the target, so events flow before, during and after them.
        var points = shuffled.Select(_ => (long)(options.Events * (0.03 + 0.87 * random.NextDouble()))).Order().ToList();
        var steps = shuffled.Zip(points, (fault, at) => new FaultStep(at, fault.Kind, fault.Service,
            TimeSpan.FromMilliseconds(fault.Kind == FaultKind.RedisRestart ? random.Next(200, 1500) : random.Next(0, 800)))).ToList();
        return new ChaosPlan(
            steps,
            [.. Enumerable.Range(0, LoadLanes).Select(_ => random.Next())],
            [.. Enumerable.Range(0, GameLanes).Select(_ => random.Next())],
            [.. Enumerable.Range(0, options.SseClients).Select(_ => random.Next())]);
    }
}
