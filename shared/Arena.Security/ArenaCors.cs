using Microsoft.AspNetCore.Cors.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Arena.Security;

/// <summary>
/// CORS for the origins in <c>Arena:CorsOrigins</c> only: the read APIs allow GET, ingest
/// allows POST with its headers. With no origins configured no CORS header is ever sent (the
/// viewer is served by the gateway, same-origin).
/// </summary>
public static class ArenaCors
{
    public const string Read = "arena-read";
    public const string Write = "arena-write";

    internal static IServiceCollection AddArenaCors(this IServiceCollection services)
    {
        services.AddCors();
        services.AddOptions<CorsOptions>().Configure<IOptions<SecurityOptions>>((cors, security) =>
        {
            var origins = security.Value.CorsOriginList().ToArray();
            cors.AddPolicy(Read, p => p.WithOrigins(origins).WithMethods("GET").WithHeaders("Authorization", "Last-Event-ID"));
            cors.AddPolicy(Write, p => p.WithOrigins(origins).WithMethods("POST").WithHeaders("Content-Type", "Authorization", "X-Api-Key")
                .WithExposedHeaders("Retry-After"));
        });
        return services;
    }
}
