using Arena.ServiceDefaults;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Arena.Security;

/// <summary>
/// The optional read token (<c>Arena:ReadToken</c>) that guards the read APIs: history,
/// leaderboard and the live streams. Without one they are open.
/// </summary>
public sealed class ReadAccess(IOptions<SecurityOptions> options)
{
    /// <summary>The query parameter that carries the token where headers cannot: a browser's EventSource.</summary>
    public const string QueryParameter = "access_token";

    private readonly SecretDigests _tokens = new(options.Value.ReadTokens());

    /// <summary>What this service presents when it calls another service's read API.</summary>
    public string? OutgoingToken { get; } = options.Value.ReadTokens().FirstOrDefault();

    public bool Allows(HttpRequest request, bool acceptQueryToken) => _tokens.IsEmpty || TokenOf(request, acceptQueryToken) >= 0;

    /// <summary>Which configured token the request presents (its position), or -1: none, a wrong one, or reading is open.</summary>
    public int TokenOf(HttpRequest request, bool acceptQueryToken)
    {
        var presented = SecretDigests.Bearer(request)
            ?? (acceptQueryToken && request.Query.TryGetValue(QueryParameter, out var query) ? query.ToString() : null);
        return _tokens.IndexOf(presented);
    }
}

public static class ReadAccessExtensions
{
    /// <summary>
    /// Guards the endpoints with the read token (answering 401 with <c>WWW-Authenticate: Bearer</c>)
    /// and lets the configured origins read them from a browser.
    /// </summary>
    /// <param name="acceptQueryToken">Also take the token from <c>?access_token=</c>, for event streams.</param>
    public static TBuilder RequireReadAccess<TBuilder>(this TBuilder builder, bool acceptQueryToken = false) where TBuilder : IEndpointConventionBuilder =>
        builder.RequireCors(ArenaCors.Read).AddEndpointFilter(async (context, next) =>
        {
            var http = context.HttpContext;
            if (http.RequestServices.GetRequiredService<ReadAccess>().Allows(http.Request, acceptQueryToken))
            {
                return await next(context);
            }
            http.Response.Headers.WWWAuthenticate = "Bearer";
            return Problem.Create(StatusCodes.Status401Unauthorized, "unauthorized", "Unauthorized",
                acceptQueryToken
                    ? $"A valid read token is required: send it as 'Authorization: Bearer <token>' or '?{ReadAccess.QueryParameter}=<token>'."
                    : "A valid read token is required: send it as 'Authorization: Bearer <token>'.").ToResult();
        });
}
