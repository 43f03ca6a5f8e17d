using Arena.ServiceDefaults;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace Arena.Security;

/// <summary>Access control every Arena service takes: producer keys, the read token and CORS.</summary>
public static class SecurityExtensions
{
    /// <summary>
    /// Binds and validates <see cref="SecurityOptions"/> (registered with the settings check and
    /// the <c>settings</c> list like any options type), and registers <see cref="ReadAccess"/>
    /// and the <see cref="ArenaCors"/> policies.
    /// </summary>
    public static WebApplicationBuilder AddArenaSecurity(this WebApplicationBuilder builder)
    {
        builder.Services.AddValidatedOptions<SecurityOptions>(SecurityOptions.Section);
        builder.Services.AddSingleton<ReadAccess>();
        builder.Services.AddArenaCors();
        return builder;
    }

    /// <summary>CORS for the endpoints that ask for it (<see cref="ArenaCors.Read"/>, <see cref="ArenaCors.Write"/>); call it before any other middleware.</summary>
    public static WebApplication UseArenaCors(this WebApplication app)
    {
        app.UseCors();
        return app;
    }
}
