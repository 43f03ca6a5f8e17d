using System.Reflection;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Arena.ServiceDefaults;

/// <summary>
/// What every service says about its HTTP API: an OpenAPI document at
/// <c>/openapi/v1.json</c>, and problem documents (RFC 9457) for the answers no endpoint
/// writes itself — 404 (no such endpoint), 405 (not with that method) and 500.
/// </summary>
public static class ApiDescription
{
    public const string DocumentPath = "/openapi/v1.json";

    internal static void AddApiDescription(this IServiceCollection services, string serviceName)
    {
        var version = Assembly.GetEntryAssembly()?.GetName().Version?.ToString(3) ?? "0.0.0";
        services.AddOpenApi(o => o.AddDocumentTransformer((document, _, _) =>
        {
            document.Info.Title = $"Arena {serviceName}";
            document.Info.Version = version;
            document.Info.Description = $"The HTTP API of the arena pipeline's {serviceName} service; docs/api.md describes it in prose.";
            return Task.CompletedTask;
        }));
        services.AddProblemDetails(o => o.CustomizeProblemDetails = context =>
        {
            var problem = context.ProblemDetails;
            var request = context.HttpContext.Request;
            (problem.Type, problem.Detail) = problem.Status switch
            {
                StatusCodes.Status404NotFound => (Problem.TypeUri("not-found"), problem.Detail ?? $"No endpoint answers {request.Path}; see {DocumentPath}"),
                StatusCodes.Status405MethodNotAllowed => (Problem.TypeUri("method-not-allowed"),
                    problem.Detail ?? $"{request.Method} is not allowed on {request.Path}; see {DocumentPath}"),
                StatusCodes.Status500InternalServerError => (Problem.TypeUri("internal-error"),
                    "The request failed inside the service; its log has the error"),
                _ => (problem.Type, problem.Detail),
            };
        });
    }

    /// <summary>Declares, for the OpenAPI document, that the endpoints answer these statuses with problem documents.</summary>
    public static TBuilder ProducesProblems<TBuilder>(this TBuilder builder, params int[] statuses) where TBuilder : IEndpointConventionBuilder
    {
        foreach (var status in statuses)
        {
            builder.WithMetadata(new ProducesResponseTypeMetadata(status, typeof(Problem), [Problem.ContentType]));
        }
        return builder;
    }

    /// <summary>Declares, for the OpenAPI document, a success answer whose body the endpoint writes itself.</summary>
    public static TBuilder ProducesBody<TBuilder>(this TBuilder builder, int status, params string[] contentTypes) where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new ProducesResponseTypeMetadata(status, null, contentTypes));

    /// <summary>First in the pipeline: exceptions and empty 404/405 answers get problem documents.</summary>
    internal static void UseProblemResponses(this WebApplication app)
    {
        app.UseExceptionHandler();
        app.UseStatusCodePages(async context =>
        {
            var response = context.HttpContext.Response;
            if (response.StatusCode is StatusCodes.Status404NotFound or StatusCodes.Status405MethodNotAllowed)
            {
                await context.HttpContext.RequestServices.GetRequiredService<IProblemDetailsService>()
                    .WriteAsync(new ProblemDetailsContext { HttpContext = context.HttpContext });
            }
        });
    }
}
