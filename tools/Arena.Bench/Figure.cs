using System.Globalization;

namespace Arena.Bench;

/// <summary>
/// One measured figure. <see cref="Kind"/> groups figures in the results: <see cref="FigureKind.Raw"/>
/// for a limit of the machine and its libraries, <see cref="FigureKind.Pipeline"/> for the
/// pipeline's own, null for the rest.
/// </summary>
/// <param name="Comparison">For a pipeline figure: its ratio to the raw limit that bounds it, and the goal it is held to.</param>
public sealed record Figure(string Name, string Setting, double Value, string Unit, string? Kind = null, string? Comparison = null)
{
    /// <summary>Rates as whole numbers with thousands separators, durations and other small values to two decimals.</summary>
    public string FormatValue() =>
        $"{Value.ToString(Value >= 1000 ? "N0" : "F2", CultureInfo.InvariantCulture)} {Unit}";

    public override string ToString() => $"{Name} ({Setting}): {FormatValue()}{(Comparison is null ? "" : $" — {Comparison}")}";
}

public static class FigureKind
{
    public const string Raw = "raw";
    public const string Pipeline = "pipeline";

    /// <summary>The heading of a kind's table in results.md; figures without a kind come first, under none.</summary>
    public static string? Heading(string? kind) => kind switch
    {
        Raw => "Raw limits",
        Pipeline => "Pipeline",
        null => null,
        _ => kind,
    };
}
