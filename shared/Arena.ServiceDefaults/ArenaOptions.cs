using System.ComponentModel.DataAnnotations;
using StackExchange.Redis;

namespace Arena.ServiceDefaults;

/// <summary>
/// The hosting settings every service shares, bound from the <c>Arena</c> section (<c>Arena__*</c>);
/// the access-control settings of that section are <c>Arena.Security.SecurityOptions</c>.
/// </summary>
public sealed class ArenaOptions : IValidatableObject
{
    public const string Section = "Arena";

    /// <summary>StackExchange.Redis configuration string.</summary>
    [Required]
    public string Redis { get; set; } = "127.0.0.1:6379";

    /// <summary>Where a service keeps its DuckDB file.</summary>
    [Required]
    public string DataDir { get; set; } = "./data";

    [Range(1, 1024)]
    public int Partitions { get; set; } = 1;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        string? problem = null;
        try
        {
            ConfigurationOptions.Parse(Redis);
        }
        catch (ArgumentException e)
        {
            // The message names the offending option, never the password's value.
            problem = $"Arena:Redis is not a valid StackExchange.Redis configuration string: {e.Message}";
        }
        if (problem is not null)
        {
            yield return new ValidationResult(problem, [nameof(Redis)]);
        }
    }
}
