namespace Arena.ServiceDefaults;

public static class ArenaTelemetry
{
    /// <summary>Every meter and activity source of the product starts with this, so one wildcard exports them all.</summary>
    public const string MeterPrefix = "Arena.";
}
