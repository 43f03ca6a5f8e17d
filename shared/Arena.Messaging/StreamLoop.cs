using Arena.Contracts;
using Arena.ServiceDefaults;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Arena.Messaging;

/// <summary>
/// The skeleton every stream reader runs (the consumer groups and the gateway's tail): rounds
/// of reading, woken early by ingest's announcements of new entries, healthy after each round
/// that succeeds; a transient failure marks the loop unhealthy and pauses it with exponential
/// backoff (<see cref="ErrorPolicy.FirstBackoff"/> to the maximum) before the next round.
/// Stopping ends a round's wait or pause.
/// </summary>
/// <param name="wakeOnAnnouncements">False for a loop whose rounds wait in Redis themselves (blocking reads): it needs no announcements.</param>
public sealed class StreamLoop(IConnectionMultiplexer redis, string name, LoopHealth health, TimeProvider time, ILogger logger,
    bool wakeOnAnnouncements = true)
{
    private static readonly RedisChannel WakeChannel = RedisChannel.Literal(StreamKeys.WakeChannel);

    /// <param name="round">One round of reads; returns how long to wait for new entries before the next, or null to go on at once (more is waiting).</param>
    /// <param name="isTransient">The failures to pause on; any other ends the loop with the exception.</param>
    /// <param name="onPause">Told of each transient failure before the pause, e.g. to read again what it may have lost.</param>
    public async Task RunAsync(Func<CancellationToken, Task<TimeSpan?>> round, Func<Exception, bool> isTransient, TimeSpan maxBackoff,
        CancellationToken stoppingToken, Action<Exception>? onPause = null)
    {
        using var wake = new Signal();
        Action<RedisChannel, RedisValue> announced = (_, _) => wake.Set();
        var subscribed = false;
        var backoff = ErrorPolicy.FirstBackoff;
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                try
                {
                    if (wakeOnAnnouncements && !subscribed)
                    {
                        subscribed = await TrySubscribeAsync(announced);
                    }
                    var idle = await round(stoppingToken);
                    health.Healthy(name);
                    backoff = ErrorPolicy.FirstBackoff;
                    if (idle is { } wait)
                    {
                        await wake.WaitAsync(wait, stoppingToken);
                    }
                }
                catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
                {
                    return;
                }
                catch (Exception e) when (isTransient(e))
                {
                    onPause?.Invoke(e);
                    health.Unhealthy(name, $"{e.GetType().Name}: {e.Message}");
                    logger.LogWarning("{Loop} paused for {Backoff} ms: {Error}", name, backoff.TotalMilliseconds, e.Message);
                    try
                    {
                        await Task.Delay(backoff, time, stoppingToken);
                    }
                    catch (OperationCanceledException)
                    {
                        return;
                    }
                    backoff = ErrorPolicy.NextBackoff(backoff, maxBackoff);
                }
            }
        }
        finally
        {
            if (subscribed)
            {
                await UnsubscribeAsync(announced);
            }
        }
    }

    /// <summary>
    /// Reading goes on without announcements, polling every idle wait: the subscription's own
    /// connection may come up after the first read's (at start-up it often does), and the next
    /// round tries again.
    /// </summary>
    private async Task<bool> TrySubscribeAsync(Action<RedisChannel, RedisValue> announced)
    {
        try
        {
            await redis.GetSubscriber().SubscribeAsync(WakeChannel, announced);
            return true;
        }
        catch (RedisConnectionException e)
        {
            logger.LogDebug("{Loop} reads without wake-ups until it can subscribe: {Error}", name, e.Message);
            return false;
        }
    }

    /// <summary>No announcement reaches the signal once the loop has ended and disposed it.</summary>
    private async Task UnsubscribeAsync(Action<RedisChannel, RedisValue> announced)
    {
        try
        {
            await redis.GetSubscriber().UnsubscribeAsync(WakeChannel, announced);
        }
        catch (RedisException)
        {
            // Gone with the connection: nothing calls back.
        }
    }
}
