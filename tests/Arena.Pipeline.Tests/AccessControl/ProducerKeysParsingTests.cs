using Arena.Security;

namespace Arena.Pipeline.Tests.AccessControl;

/// <summary><c>Arena:ApiKeys</c> entries: <c>name:key</c> or a bare key, checked at start-up.</summary>
public sealed class ProducerKeysParsingTests
{
    [Fact]
    public void Named_and_bare_keys_are_read_and_a_bare_key_gets_a_stable_name_that_is_not_the_key()
    {
        List<string> problems = [];

        var keys = ProducerKeys.Parse(" harness-1:k1/abc+def== , Zm9vYmFy== , ", problems);

        Assert.Empty(problems);
        Assert.Equal(new ProducerKey("harness-1", "k1/abc+def=="), keys[0]);
        Assert.Equal("Zm9vYmFy==", keys[1].Key);
        Assert.Matches("^key-[0-9a-f]{8}$", keys[1].Producer);
        Assert.Equal(keys[1].Producer, ProducerKeys.Parse("Zm9vYmFy==", []).Single().Producer);
    }

    [Theory]
    [InlineData("", 0)]
    [InlineData("a:k1,b:k2,k3", 3)]
    public void Empty_setting_is_open_and_every_entry_counts(string setting, int count)
    {
        List<string> problems = [];
        Assert.Equal(count, ProducerKeys.Parse(setting, problems).Count);
        Assert.Empty(problems);
    }

    [Theory]
    [InlineData("a:k1,,b:", "entry 3 has no key")]
    [InlineData("a:", "entry 1 has no key")]
    [InlineData(":k1", "the producer name ''")]
    [InlineData("a b:k1", "the producer name 'a b'")]
    [InlineData("a:k1,a:k2", "entry 2 repeats the producer name 'a'")]
    [InlineData("a:k1,b:k1", "entry 2 repeats the key of an earlier entry")]
    [InlineData("k1,k1", "entry 2 repeats the key of an earlier entry")]
    [InlineData("a:k\u00e9y", "entry 1: a key may hold only printable ASCII")]
    public void Bad_entry_is_named_by_position_never_by_its_key(string setting, string expected)
    {
        List<string> problems = [];

        ProducerKeys.Parse(setting, problems);

        var problem = Assert.Single(problems);
        Assert.Contains(expected, problem, StringComparison.Ordinal);
        foreach (var key in new[] { "k1", "k2", "k\u00e9y" })
        {
            Assert.DoesNotContain(key, problem, StringComparison.Ordinal);
        }
    }
}
