using System.Collections.Concurrent;
using System.Globalization;

namespace Arena.Chaos;

/// <summary>
/// Takes the plan's steps in order, each once the producers have had its number of events
/// accepted: kill -9 or SIGTERM of a service and its restart, or kill -9 of redis-server and
/// its restart on the same folder — never while poison is being written around ingest.
/// </summary>
public sealed class FaultInjector(ChaosPlan plan, ChaosPipeline pipeline, Ledger ledger, PoisonWriter poison)
{
    private int _taken;

    public ConcurrentDictionary<string, int> Kills { get; } = new();
    public ConcurrentDictionary<string, int> Sigterms { get; } = new();
    public ConcurrentBag<string> UncleanSigterms { get; } = [];

    /// <summary>When each kill -9 of redis-server happened (Unix ms), for attributing lost events with everysec.</summary>
    public ConcurrentQueue<long> RedisKills { get; } = new();

    public int Taken => Volatile.Read(ref _taken);
    public bool Done => Taken == plan.Steps.Count;

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        foreach (var step in plan.Steps)
        {
            while (ledger.Accepted < step.AtAccepted)
            {
                await Task.Delay(20, cancellationToken);
            }
            await TakeAsync(step, cancellationToken);
            Interlocked.Increment(ref _taken);
        }
    }

    private async Task TakeAsync(FaultStep step, CancellationToken cancellationToken)
    {
        switch (step.Kind)
        {
            case FaultKind.Kill:
                await pipeline.KillAndRestartAsync(step.Service, step.Downtime);
                Kills.AddOrUpdate(step.Service, 1, (_, n) => n + 1);
                break;
            case FaultKind.Terminate:
                var exitCode = await pipeline.TerminateAndRestartAsync(step.Service, step.Downtime);
                Sigterms.AddOrUpdate(step.Service, 1, (_, n) => n + 1);
                if (exitCode != 0)
                {
                    UncleanSigterms.Add(string.Create(CultureInfo.InvariantCulture, $"{step.Service} exited with {exitCode} after SIGTERM"));
                }
                break;
            case FaultKind.RedisRestart:
                using (await poison.HoldAsync(cancellationToken))
                {
                    RedisKills.Enqueue(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
                    await pipeline.RestartRedisAsync(step.Downtime);
                }
                break;
        }
    }
}
