using System.ComponentModel.DataAnnotations;

namespace Arena.SseGateway;

/// <summary>Bound from the <c>SseGateway</c> section (<c>SseGateway__*</c>).</summary>
public sealed class GatewayOptions : IValidatableObject
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

    /// <summary>Concurrent SSE connections (run, all-runs and leaderboard streams) the gateway holds in total.</summary>
    [Range(1, 1_000_000)]
    public int MaxConnections { get; set; } = 10_000;

    /// <summary>Concurrent SSE connections one client holds: one address (an IPv6 /64) presenting one read token.</summary>
    [Range(1, 1_000_000)]
    public int MaxConnectionsPerClient { get; set; } = 64;

    /// <summary>
    /// Comma-separated addresses that speak for many clients — the machine itself, a reverse
    /// proxy — and so are held only to <see cref="MaxConnections"/>, never to the per-client limit.
    /// </summary>
    public string SharedAddresses { get; set; } = "127.0.0.1,::1";

    public IReadOnlyList<string> SharedAddressList() =>
        SharedAddresses.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>The <c>retry:</c> hint sent with a refusal over a connection limit: long, so that a refused browser comes back later rather than soon.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan OverLimitRetry { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Where the gateway finds the persister's history API (the run list, history pages).</summary>
    [Required]
    public Uri PersisterUrl { get; set; } = new("http://127.0.0.1:8082");

    /// <summary>Where the gateway finds the ranker's leaderboard and its read API.</summary>
    [Required]
    public Uri RankerUrl { get; set; } = new("http://127.0.0.1:8083");

    /// <summary>How long a request to the persister (a history page, the run list) may take before the gateway serves without it.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:01:00")]
    public TimeSpan PersisterTimeout { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>How long a request to the ranker (the leaderboard, its history, head-to-head) may take before the gateway answers without it.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:01:00")]
    public TimeSpan RankerTimeout { get; set; } = TimeSpan.FromSeconds(5);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        foreach (var address in SharedAddressList().Where(a => !System.Net.IPAddress.TryParse(a, out _)))
        {
            yield return new ValidationResult($"SseGateway:SharedAddresses: '{address}' is not an IP address", [nameof(SharedAddresses)]);
        }
    }
}
