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

    [Range(typeof(TimeSpan), "00:00:00.001", "00:00:10")]
    public TimeSpan IdlePoll { get; set; } = TimeSpan.FromMilliseconds(100);
}
