using System.Globalization;
using Arena.Contracts.Validation;
using Microsoft.AspNetCore.Http;

namespace Arena.ServiceDefaults;

/// <summary>The query parameters of the read APIs, each refused with a <c>400</c> problem naming it.</summary>
public static class QueryParameters
{
    public static Problem Invalid(string field, string message) =>
        Problem.Create(StatusCodes.Status400BadRequest, "invalid-query", "Invalid query", $"{field} {message}",
            [new ValidationError(0, field, message)]);

    /// <summary><c>limit</c>: <paramref name="fallback"/> when absent, else an integer from 1 to <paramref name="max"/>.</summary>
    public static bool TryLimit(string? text, int fallback, int max, out int limit, out Problem? problem)
    {
        problem = null;
        limit = fallback;
        if (text is null
            || (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out limit) && limit >= 1 && limit <= max))
        {
            return true;
        }
        problem = Invalid("limit", $"must be an integer from 1 to {max} (got '{text}')");
        return false;
    }
}
