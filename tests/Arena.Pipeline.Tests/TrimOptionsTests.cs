using System.ComponentModel.DataAnnotations;
using Arena.Messaging;

namespace Arena.Pipeline.Tests;

/// <summary>The retention settings' rule across them: the most entries kept is never fewer than the least.</summary>
public sealed class TrimOptionsTests
{
    private static List<ValidationResult> Problems(TrimOptions options)
    {
        var results = new List<ValidationResult>();
        Validator.TryValidateObject(options, new ValidationContext(options), results, validateAllProperties: true);
        return results;
    }

    [Theory]
    [InlineData(10_000, 500_000)]
    [InlineData(10_000, 10_000)]
    [InlineData(10_000, 0)] // no limit by count
    [InlineData(0, 1)]
    public void RetainAtMost_of_at_least_RetainCount_or_0_is_valid(int retainCount, int retainAtMost)
    {
        Assert.Empty(Problems(new TrimOptions { RetainCount = retainCount, RetainAtMost = retainAtMost }));
    }

    [Fact]
    public void RetainAtMost_below_RetainCount_is_refused_naming_both()
    {
        var problem = Assert.Single(Problems(new TrimOptions { RetainCount = 300, RetainAtMost = 299 }));

        Assert.Equal([nameof(TrimOptions.RetainAtMost), nameof(TrimOptions.RetainCount)], problem.MemberNames);
        Assert.Equal("RetainAtMost (299) must be 0 (no limit by count) or at least RetainCount (300): the most entries kept cannot be fewer than the least.", problem.ErrorMessage);
    }

    [Fact]
    public void A_negative_RetainAtMost_is_refused()
    {
        var problem = Assert.Single(Problems(new TrimOptions { RetainAtMost = -1 }));

        Assert.Equal([nameof(TrimOptions.RetainAtMost)], problem.MemberNames);
    }
}
