using System.Globalization;

namespace Arena.Harness;

/// <summary>
/// Settings that put a fault into a service started by the harness: they load
/// <c>tools/Arena.FaultInjection</c> into the process as a startup hook, which shipped services
/// never load, and tell it which fault to inject.
/// </summary>
public static class FaultInjection
{
    /// <summary>After <paramref name="commits"/> batches the consumer's handler completed, SIGKILL before the acknowledgement.</summary>
    public static (string Key, string Value)[] KillAfterCommits(int commits) =>
        [("DOTNET_STARTUP_HOOKS", Hook), ("Faults__KillAfterCommits", commits.ToString(CultureInfo.InvariantCulture))];

    /// <summary>The built hook, from the same configuration as the services.</summary>
    private static string Hook => Repo.Binary("tools/Arena.FaultInjection", "Arena.FaultInjection");
}
