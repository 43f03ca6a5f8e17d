using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Arena.ServiceDefaults;

/// <summary>Builds the one multiplexer a service shares.</summary>
public static class RedisConnection
{
    public static ConfigurationOptions Options(string configuration, string clientName)
    {
        var options = ConfigurationOptions.Parse(configuration);
        // Start and keep running while Redis is away; reconnect in the background.
        options.AbortOnConnectFail = false;
        // While disconnected, fail commands at once instead of queueing them: callers
        // decide whether to retry (idempotent work) or answer 503, and never hang.
        options.BacklogPolicy = BacklogPolicy.FailFast;
        options.ClientName ??= clientName;
        // No tie-breaker key and no configuration channel: they serve master elections
        // among several masters, which this deployment never has, and would need ACL
        // rights (GET, SUBSCRIBE) outside the arena's keys and channels.
        options.TieBreaker = "";
        options.ConfigurationChannel = "";
        // CONFIG GET only tunes the handshake, and an ACL user should not read the server's
        // configuration (it holds masterauth), so it is never sent.
        if (options.CommandMap == CommandMap.Default)
        {
            options.CommandMap = CommandMap.Create(["CONFIG"], available: false);
        }
        return options;
    }

    public static IConnectionMultiplexer Connect(ConfigurationOptions options, ILogger logger)
    {
        LogConnecting(options, logger);
        return Watch(ConnectionMultiplexer.Connect(options), logger);
    }

    public static async Task<IConnectionMultiplexer> ConnectAsync(ConfigurationOptions options, ILogger logger)
    {
        LogConnecting(options, logger);
        return Watch(await ConnectionMultiplexer.ConnectAsync(options), logger);
    }

    // ToString() leaves the password out.
    private static void LogConnecting(ConfigurationOptions options, ILogger logger) =>
        logger.LogInformation("Connecting to Redis at {Redis}", options.ToString(includePassword: false));

    private static IConnectionMultiplexer Watch(ConnectionMultiplexer multiplexer, ILogger logger)
    {
        multiplexer.ConnectionFailed += (_, e) =>
            logger.LogWarning("Redis connection to {Endpoint} lost: {FailureType}", e.EndPoint, e.FailureType);
        multiplexer.ConnectionRestored += (_, e) =>
            logger.LogInformation("Redis connection to {Endpoint} restored", e.EndPoint);
        return multiplexer;
    }
}
