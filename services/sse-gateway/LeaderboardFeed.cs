using System.Text.Json;
using Arena.Contracts;
using Arena.Messaging;
using Arena.ServiceDefaults;
using Microsoft.Extensions.Options;

namespace Arena.SseGateway;

/// <summary>
/// The leaderboard for every leaderboard-stream client: fetched from the ranker once per
/// <c>leaderboard_updated</c> and once per wave of new clients, framed once, and shared — not
/// one fetch per client per update. A new client is sent a board fetched after it arrived,
/// so it never starts from one older than the ranker's answer at that moment.
/// </summary>
public sealed class LeaderboardFeed(Hub hub, IHttpClientFactory clients, IOptions<ArenaOptions> arena, GatewayMetrics metrics,
    TimeProvider time, ILogger<LeaderboardFeed> logger) : BackgroundService
{
    /// <summary>A fetched leaderboard as an SSE frame; <paramref name="Fetch"/> numbers the fetch that read it.</summary>
    public sealed record Board(long Fetch, byte[] Frame);

    private static readonly TimeSpan RetryAfterFailure = TimeSpan.FromSeconds(2);

    private readonly Lock _gate = new();
    private readonly Signal _fetch = new();
    private Board? _board;
    private long _started;
    private int _waiting;
    private TaskCompletionSource _published = NewSignal();

    /// <summary>The number to pass to <see cref="NextAsync"/> first: the next board is one fetched from now on.</summary>
    public long Arrive()
    {
        lock (_gate)
        {
            _fetch.Set();
            return _started;
        }
    }

    /// <summary>The newest board read by a fetch numbered above <paramref name="after"/>, or null if none comes within <paramref name="timeout"/>.</summary>
    public async Task<Board?> NextAsync(long after, TimeSpan timeout, CancellationToken cancellation)
    {
        Task published;
        lock (_gate)
        {
            if (_board is { } board && board.Fetch > after)
            {
                return board;
            }
            published = _published.Task;
        }
        Interlocked.Increment(ref _waiting);
        try
        {
            await published.WaitAsync(timeout, cancellation);
        }
        catch (TimeoutException)
        {
            return null;
        }
        finally
        {
            Interlocked.Decrement(ref _waiting);
        }
        lock (_gate)
        {
            return _board is { } board && board.Fetch > after ? board : null;
        }
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(FollowUpdatesAsync(stoppingToken), FetchAsync(stoppingToken));

    /// <summary>Each leaderboard_updated asks for one fetch; several before it starts ask for one.</summary>
    private async Task FollowUpdatesAsync(CancellationToken stoppingToken)
    {
        var partition = Partitioner.PartitionOf(PipelineRun.Id, arena.Value.Partitions);
        while (!stoppingToken.IsCancellationRequested)
        {
            var (updates, _) = hub.Subscribe(partition, e => e.Type == EventTypes.LeaderboardUpdated, 64, client: false);
            try
            {
                // A full buffer ends the reader: subscribe again, and fetch in case an update was missed.
                while (await updates.Events.WaitToReadAsync(stoppingToken))
                {
                    while (updates.Events.TryRead(out _))
                    {
                    }
                    _fetch.Set();
                }
                _fetch.Set();
            }
            catch (OperationCanceledException)
            {
                return;
            }
            finally
            {
                hub.Unsubscribe(updates);
            }
        }
    }

    private async Task FetchAsync(CancellationToken stoppingToken)
    {
        var ranker = clients.CreateClient("ranker");
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await _fetch.WaitAsync(Timeout.InfiniteTimeSpan, stoppingToken);
                long number;
                lock (_gate)
                {
                    number = ++_started;
                }
                metrics.LeaderboardFetches.Add(1);
                using var response = await ranker.GetAsync("/v1/leaderboard", stoppingToken);
                if (!response.IsSuccessStatusCode)
                {
                    throw new HttpRequestException($"the ranker answered {(int)response.StatusCode}");
                }
                using var board = JsonDocument.Parse(await response.Content.ReadAsStreamAsync(stoppingToken));
                Publish(new Board(number, SseWriter.Utf8Frame(null, "leaderboard", JsonSerializer.Serialize(board.RootElement))));
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is HttpRequestException or JsonException or OperationCanceledException)
            {
                logger.LogWarning("Leaderboard not fetched from the ranker: {Error}", e.Message);
                await RetryWhileWaitedForAsync(stoppingToken);
            }
        }
    }

    private async Task RetryWhileWaitedForAsync(CancellationToken stoppingToken)
    {
        try
        {
            await Task.Delay(RetryAfterFailure, time, stoppingToken);
        }
        catch (OperationCanceledException)
        {
            return;
        }
        if (Volatile.Read(ref _waiting) > 0)
        {
            _fetch.Set();
        }
    }

    private void Publish(Board board)
    {
        TaskCompletionSource published;
        lock (_gate)
        {
            _board = board;
            published = _published;
            _published = NewSignal();
        }
        published.TrySetResult();
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    public override void Dispose()
    {
        _fetch.Dispose();
        base.Dispose();
    }
}
