using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Arena.Security;
using Microsoft.Extensions.Options;

namespace Arena.SseGateway;

/// <summary>
/// Bounds the SSE connections held open: per client and in total. A client is its address
/// and, when read tokens are set, the token it presents: consumers behind one address with
/// their own tokens keep their own budgets, and viewers at different addresses sharing one
/// token do not pool theirs. An IPv6 client is its /64, which one host usually holds whole.
/// A shared address (<see cref="GatewayOptions.SharedAddresses"/>: the machine itself, a
/// reverse proxy) speaks for many clients and is held only to the total.
/// </summary>
public sealed class ConnectionLimits(IOptions<GatewayOptions> options, ReadAccess access, GatewayMetrics metrics)
{
    /// <summary>Why a connection was refused: the <c>reason</c> of <c>arena_sse_refused_total</c>.</summary>
    public static readonly string[] Reasons = ["per_client", "total"];

    private readonly Lock _gate = new();
    private readonly Dictionary<Client, int> _byClient = [];
    private int _total;
    private readonly HashSet<string> _shared = [.. options.Value.SharedAddressList().Select(a => Network(IPAddress.Parse(a)))];

    /// <param name="Shared">Held only to the total.</param>
    public readonly record struct Client(string Address, int Token, bool Shared);

    public Client ClientOf(HttpRequest request)
    {
        var address = Network(request.HttpContext.Connection.RemoteIpAddress);
        return new(address, access.TokenOf(request, acceptQueryToken: true), _shared.Contains(address));
    }

    /// <summary>Counts the connection in and returns null, or returns the reason it is refused and counts nothing.</summary>
    public string? TryEnter(Client client)
    {
        lock (_gate)
        {
            var held = _byClient.GetValueOrDefault(client);
            var refused = !client.Shared && held >= options.Value.MaxConnectionsPerClient ? "per_client"
                : _total >= options.Value.MaxConnections ? "total"
                : null;
            if (refused is null)
            {
                _byClient[client] = held + 1;
                _total++;
            }
            return refused;
        }
    }

    public void Leave(Client client)
    {
        lock (_gate)
        {
            var held = _byClient[client] - 1;
            // Forgotten at zero, so a stream of one-off addresses does not grow the table.
            if (held == 0)
            {
                _byClient.Remove(client);
            }
            else
            {
                _byClient[client] = held;
            }
            _total--;
        }
    }

    /// <summary>
    /// Holds each of the endpoints' connections within the limits for as long as it runs. Over
    /// a limit the answer is still a 200 — EventSource gives up for good on anything else — but
    /// empty, with a long <c>retry:</c> hint and a comment naming the limit: a browser with too
    /// many tabs comes back later, and a flood costs one short request each.
    /// </summary>
    public static TBuilder Apply<TBuilder>(TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        builder.AddEndpointFilter((context, next) => context.HttpContext.RequestServices.GetRequiredService<ConnectionLimits>().HoldAsync(context, next));

    private async ValueTask<object?> HoldAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        var client = ClientOf(http.Request);
        if (TryEnter(client) is { } reason)
        {
            var settings = options.Value;
            var limit = reason == "per_client"
                ? $"{settings.MaxConnectionsPerClient} connections per client"
                : $"{settings.MaxConnections} connections in total";
            metrics.Refused.Add(1, new KeyValuePair<string, object?>("reason", reason));
            await SseWriter.RetryLaterAsync(http.Response, settings.OverLimitRetry, $"over the limit of {limit}, retry later", http.RequestAborted);
            return Results.Empty;
        }
        try
        {
            return await next(context);
        }
        finally
        {
            Leave(client);
        }
    }

    private static string Network(IPAddress? address)
    {
        if (address is null)
        {
            return "";
        }
        if (address.IsIPv4MappedToIPv6)
        {
            return address.MapToIPv4().ToString();
        }
        if (address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return address.ToString();
        }
        var bytes = address.GetAddressBytes();
        Array.Clear(bytes, 8, 8);
        return string.Create(CultureInfo.InvariantCulture, $"{new IPAddress(bytes)}/64");
    }
}
