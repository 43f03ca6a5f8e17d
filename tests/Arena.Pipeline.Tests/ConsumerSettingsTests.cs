using Arena.Messaging;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Arena.Pipeline.Tests;

/// <summary>A consumer service's settings as <see cref="ConsumerServiceExtensions.AddStreamConsumer"/> binds them from its section.</summary>
public sealed class ConsumerSettingsTests
{
    private sealed class NoHandler : IBatchHandler
    {
        public ValueTask<IReadOnlyList<MessageOutcome>> HandleAsync(IReadOnlyList<StreamMessage> batch, CancellationToken cancellationToken) =>
            throw new InvalidOperationException("not run");
    }

    private static ConsumerOptions Bound(TimeSpan serviceLinger, params (string Key, string Value)[] settings) =>
        Bound(serviceLinger, 0, settings);

    private static ConsumerOptions Bound(TimeSpan serviceLinger, int serviceMaxBatchSize, params (string Key, string Value)[] settings)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(settings.Select(s => KeyValuePair.Create(s.Key, (string?)s.Value)))
            .Build();
        var services = new ServiceCollection().AddSingleton<IConfiguration>(configuration);
        services.AddStreamConsumer<NoHandler>("Ranker", "ranker", linger: serviceLinger, maxBatchSize: serviceMaxBatchSize);
        using var provider = services.BuildServiceProvider();
        return provider.GetRequiredService<IOptions<ConsumerOptions>>().Value;
    }

    [Fact]
    public void A_service_lingers_as_it_says_while_its_section_sets_no_linger()
    {
        Assert.Equal(ConsumerOptions.ServiceLinger, Bound(ConsumerOptions.ServiceLinger).Linger);
        Assert.Equal(TimeSpan.Zero, Bound(TimeSpan.Zero).Linger);
        Assert.Equal("ranker", Bound(ConsumerOptions.ServiceLinger).Group);
    }

    [Theory]
    [InlineData("00:00:00")]
    [InlineData("00:00:00.250")]
    public void A_linger_set_in_the_section_wins_even_when_it_is_zero(string linger)
    {
        var bound = Bound(ConsumerOptions.ServiceLinger, ("Ranker:Linger", linger), ("Persister:Linger", "00:00:01"));

        Assert.Equal(TimeSpan.Parse(linger, System.Globalization.CultureInfo.InvariantCulture), bound.Linger);
    }

    [Theory]
    [InlineData(null, null, 10_000)]
    [InlineData(null, "2000", 2000)]
    [InlineData("500", null, 0)] // a batch size set on its own stays fixed
    [InlineData("500", "4000", 4000)]
    public void A_service_grows_its_batches_as_it_says_while_its_section_sets_neither_size(string? batchSize, string? maxBatchSize, int expected)
    {
        (string, string)[] settings = [.. new[] { ("Ranker:BatchSize", batchSize), ("Ranker:MaxBatchSize", maxBatchSize) }
            .Where(s => s.Item2 is not null).Select(s => (s.Item1, s.Item2!))];

        Assert.Equal(expected, Bound(ConsumerOptions.ServiceLinger, 10_000, settings).MaxBatchSize);
    }
}
