using System.Diagnostics;
using Arena.Messaging;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

#pragma warning disable CA1050 // The runtime looks for a type named StartupHook outside any namespace.

/// <summary>
/// Faults for crash-safety tests, put into a service by the test harness
/// (<c>DOTNET_STARTUP_HOOKS</c>, see <c>Arena.Harness.FaultInjection</c>) and by nothing else.
/// As the service's host is built, it adds what the service's configuration asks for:
/// <list type="bullet">
/// <item><c>Faults__KillAfterCommits=N</c>: a middleware next to the consumer's handler that,
/// after the handler has completed N batches (for the persister, N commits), kills the process
/// (SIGKILL) before the batch is acknowledged.</item>
/// </list>
/// </summary>
internal static class StartupHook
{
    public static void Initialize() => DiagnosticListener.AllListeners.Subscribe(new HostBuilding());

    /// <summary>Hears the hosting library announce a host being built (as test hosts do) and adds the faults to its services.</summary>
    private sealed class HostBuilding : IObserver<DiagnosticListener>, IObserver<KeyValuePair<string, object?>>
    {
        public void OnNext(DiagnosticListener value)
        {
            if (value.Name == "Microsoft.Extensions.Hosting")
            {
                value.Subscribe(this);
            }
        }

        public void OnNext(KeyValuePair<string, object?> value)
        {
            if (value is { Key: "HostBuilding", Value: IHostBuilder builder })
            {
                builder.ConfigureServices((context, services) =>
                {
                    if (context.Configuration.GetValue<int>("Faults:KillAfterCommits") is > 0 and var commits)
                    {
                        services.AddSingleton(KillAfterCommits(commits));
                    }
                });
            }
        }

        public void OnCompleted()
        {
        }

        public void OnError(Exception error)
        {
        }
    }

    private static Middleware KillAfterCommits(int commits)
    {
        var completed = 0;
        return next => async (batch, ct) =>
        {
            var outcomes = await next(batch, ct);
            if (Interlocked.Increment(ref completed) >= commits)
            {
                await Console.Error.WriteLineAsync($"Faults:KillAfterCommits={commits} reached: killing the process between commit and ack");
                Process.GetCurrentProcess().Kill();
            }
            return outcomes;
        };
    }
}
