using System.Text.RegularExpressions;

namespace Arena.Contracts;

/// <summary>The envelope's field formats, shared by validation and the JSON Schema files.</summary>
public static partial class EnvelopeRules
{
    public const int MaxIdLength = 128;
    public const string IdPattern = "^[A-Za-z0-9._:-]{1,128}$";
    public const string TypePattern = "^[a-z][a-z0-9_]{0,63}$";

    // .NET's '$' also matches before a final newline; the schemas' ECMA-262 '$' does not.
    private const string IdRegex = @"^[A-Za-z0-9._:-]{1,128}\z";
    private const string TypeRegex = @"^[a-z][a-z0-9_]{0,63}\z";
    public const int MinPlayers = 2;
    public const int MaxPlayers = 8;
    public const int MaxTextLength = 1024;

    [GeneratedRegex(IdRegex, RegexOptions.CultureInvariant)]
    public static partial Regex Id();

    [GeneratedRegex(TypeRegex, RegexOptions.CultureInvariant)]
    public static partial Regex Type();
}
