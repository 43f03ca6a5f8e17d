using System.ComponentModel.DataAnnotations;

namespace Arena.SseGateway;

/// <summary>Bound from the <c>SseGateway</c> section (<c>SseGateway__*</c>).</summary>
public sealed class GatewayOptions
{
    public const string Section = "SseGateway";

    /// <summary>Events a client may fall behind before it is disconnected (it resumes losslessly).</summary>
    [Range(16, 1_000_000)]
    public int ClientBuffer { get; set; } = 1000;

    [Range(typeof(TimeSpan), "00:00:01", "00:10:00")]
    public TimeSpan Heartbeat { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>The reconnection delay suggested to browsers (<c>retry:</c>).</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:10:00")]
    public TimeSpan Retry { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How long a stream request waits for the tail to join its partition (at start-up, or while Redis is away) before it ends as an empty 200 that the client retries.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:01:00")]
    public TimeSpan JoinWait { get; set; } = TimeSpan.FromSeconds(10);

    [Range(typeof(TimeSpan), "00:00:00.001", "00:00:10")]
    public TimeSpan IdlePoll { get; set; } = TimeSpan.FromMilliseconds(100);
}
