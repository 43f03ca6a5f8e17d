using System.ComponentModel.DataAnnotations;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace Arena.ServiceDefaults;

/// <summary>
/// Binds and validates a settings section so that every problem names the environment
/// variable to set (<c>Ingest__MaxEvents</c>): a value that does not parse stops the service
/// with that name and the kind of value wanted (never the value itself, which may be a
/// secret), and a value out of range with that name and the rule it breaks.
/// </summary>
public static partial class SettingsBinding
{
    /// <summary>The environment variable that sets <paramref name="path"/> (<c>Section:Name</c>).</summary>
    public static string Variable(string path) => path.Replace(":", "__", StringComparison.Ordinal);

    /// <summary>Binds <paramref name="section"/> onto <paramref name="options"/>; a value of the wrong kind throws a <see cref="ServiceStartupException"/>.</summary>
    public static void Bind(IConfiguration configuration, string section, object options)
    {
        try
        {
            configuration.GetSection(section).Bind(options);
        }
        catch (InvalidOperationException e) when (ConversionFailure().Match(e.Message) is { Success: true } failure)
        {
            throw new ServiceStartupException(
                $"{Variable(failure.Groups["path"].Value)} must be {Wanted(failure.Groups["type"].Value)}");
        }
    }

    private static string Wanted(string type) => type switch
    {
        "System.Int32" or "System.Int64" => "a whole number",
        "System.Double" => "a number",
        "System.Boolean" => "true or false",
        "System.TimeSpan" => "a duration such as 00:00:05 (hh:mm:ss) or 1.00:00:00 (days)",
        "System.Uri" => "a URI such as http://host:port",
        _ => $"a {type}",
    };

    // ConfigurationBinder's message: Failed to convert configuration value '…' at 'Section:Name' to type 'System.Int32'.
    [GeneratedRegex(@"at '(?<path>[^']+)' to type '(?<type>[^']+)'\.?$")]
    private static partial Regex ConversionFailure();

    /// <summary>Data annotations and <see cref="IValidatableObject"/>, each failure prefixed with the variables it is about.</summary>
    internal sealed class Validation<T>(string section) : IValidateOptions<T> where T : class
    {
        public ValidateOptionsResult Validate(string? name, T options)
        {
            var results = new List<ValidationResult>();
            if (Validator.TryValidateObject(options, new ValidationContext(options), results, validateAllProperties: true))
            {
                return ValidateOptionsResult.Success;
            }
            return ValidateOptionsResult.Fail(results.Select(r => r.MemberNames.Any()
                ? $"{string.Join(", ", r.MemberNames.Select(m => Variable($"{section}:{m}")))}: {r.ErrorMessage}"
                : r.ErrorMessage ?? "invalid"));
        }
    }
}
