using Arena.Bench;

namespace Arena.Pipeline.Tests;

/// <summary>The bench's chained raw limit: how far its producer may run ahead of the stages that follow it.</summary>
public sealed class ChainBackpressureTests
{
    [Fact]
    public void The_producer_may_run_at_most_the_limit_ahead_of_the_slowest_stage()
    {
        var chain = new ChainBackpressure(stages: 3, limit: 100);
        Assert.Equal(100, chain.Room);

        chain.Issued(100);
        Assert.Equal(0, chain.Room);

        // Its own completions and one stage's make no room while another stage has done nothing.
        chain.Completed(0, 100);
        chain.Completed(1, 100);
        Assert.Equal(0, chain.Room);

        chain.Completed(2, 40);
        Assert.Equal(40, chain.Room);
        Assert.Equal([100, 100, 40], [chain.Done(0), chain.Done(1), chain.Done(2)]);
    }

    [Fact]
    public void Issuing_beyond_the_room_or_doing_more_than_was_issued_is_refused()
    {
        var chain = new ChainBackpressure(stages: 2, limit: 10);
        Assert.Throws<ArgumentOutOfRangeException>(() => chain.Issued(11));

        chain.Issued(10);
        Assert.Throws<InvalidOperationException>(() => chain.Completed(1, 11));
        Assert.Equal(0, chain.Done(1));
    }

    [Fact]
    public void Moved_completes_at_the_next_completion_and_not_before()
    {
        var chain = new ChainBackpressure(stages: 2, limit: 10);
        var moved = chain.Moved;
        chain.Issued(5);
        Assert.False(moved.IsCompleted);

        chain.Completed(0, 5);
        Assert.True(moved.IsCompletedSuccessfully);
        Assert.False(chain.Moved.IsCompleted);
    }
}
