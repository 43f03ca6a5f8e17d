using Arena.Messaging;
using Arena.ServiceDefaults;
using Microsoft.Extensions.Configuration;

namespace Arena.Pipeline.Tests.Deployment;

/// <summary>A setting a service does not read is reported at start-up, not silently ignored.</summary>
public sealed class SettingsCheckTests
{
    private static readonly BoundSection[] Persister =
    [
        new(ArenaOptions.Section, typeof(ArenaOptions)),
        new("Persister", typeof(ConsumerOptions)),
        new("Persister", typeof(TrimOptions)),
    ];

    private static List<string> Unused(params (string Key, string Value)[] settings) =>
        [.. SettingsCheck.UnusedSettings(
            new ConfigurationBuilder().AddInMemoryCollection(settings.Select(s => new KeyValuePair<string, string?>(s.Key, s.Value))).Build(),
            Persister)];

    [Fact]
    public void Settings_of_the_service_in_any_case_are_read()
    {
        Assert.Empty(Unused(("Arena:Redis", "r:6379"), ("arena:partitions", "2"), ("Persister:BatchSize", "10"), ("Persister:RetainCount", "5")));
    }

    [Fact]
    public void Misspelt_setting_and_settings_meant_for_other_services_are_reported()
    {
        Assert.Equal(["Arena:Partiton", "Persister:BachSize", "Ranker:BootstrapRounds"],
            Unused(("Arena:Partiton", "2"), ("Persister:BachSize", "10"), ("Ranker:BootstrapRounds", "10")).Order());
    }

    [Fact]
    public void Settings_outside_the_arena_sections_are_not_judged()
    {
        Assert.Empty(Unused(("Logging:LogLevel:Default", "Debug"), ("PATH", "/usr/bin"), ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4317")));
    }

    [Fact]
    public void A_scalar_setting_has_no_children()
    {
        Assert.Equal(["Arena:Redis:Host"], Unused(("Arena:Redis:Host", "r")));
    }
}
