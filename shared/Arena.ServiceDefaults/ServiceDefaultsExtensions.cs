using System.Globalization;
using System.Reflection;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using StackExchange.Redis;

namespace Arena.ServiceDefaults;

/// <summary>What every Arena service repeats: configuration, Redis, telemetry, health.</summary>
public static class ServiceDefaultsExtensions
{
    /// <summary>Health checks with this tag decide <c>/readyz</c>.</summary>
    public const string ReadyTag = "ready";

    /// <summary>How long a stopping service may take to finish its work (container stop grace periods exceed it).</summary>
    public static readonly TimeSpan ShutdownTimeout = TimeSpan.FromSeconds(30);

    /// <summary>
    /// A web application builder whose content root is the service's own folder, so its
    /// appsettings.json applies whatever directory it is started from.
    /// </summary>
    /// <remarks>
    /// With the <c>settings</c> command (<see cref="SettingsList"/>) the service is built as
    /// usual and <see cref="RunServiceAsync"/> prints its settings instead of running.
    /// </remarks>
    public static WebApplicationBuilder CreateBuilder(string[] args)
    {
        var listSettings = SettingsList.IsRequested(args);
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = listSettings ? args[1..] : args, ContentRootPath = AppContext.BaseDirectory });
        if (listSettings)
        {
            builder.Services.AddSingleton<SettingsList.Requested>();
        }
        return builder;
    }

    /// <summary>
    /// Binds and validates <see cref="ArenaOptions"/>, registers the one Redis multiplexer,
    /// OpenTelemetry (Prometheus always, OTLP when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is
    /// set), health checks, and listens on <paramref name="defaultPort"/> on loopback unless
    /// <c>ASPNETCORE_URLS</c> or <c>--urls</c> says otherwise.
    /// </summary>
    public static WebApplicationBuilder AddServiceDefaults(this WebApplicationBuilder builder, string serviceName, int defaultPort)
    {
        if (string.IsNullOrEmpty(builder.Configuration[WebHostDefaults.ServerUrlsKey]))
        {
            builder.WebHost.UseUrls(string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{defaultPort}"));
        }

        builder.Services.AddValidatedOptions<ArenaOptions>(ArenaOptions.Section);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = ShutdownTimeout);
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<IConnectionMultiplexer>(sp => RedisConnection.Connect(
            RedisConnection.Options(sp.GetRequiredService<IOptions<ArenaOptions>>().Value.Redis, serviceName),
            sp.GetRequiredService<ILoggerFactory>().CreateLogger("Arena.Redis")));

        builder.Services.AddHostedService<SettingsCheck>();
        builder.Services.AddSingleton<LoopHealth>();
        builder.Services.AddSingleton<IHealthCheckPublisher, Readiness>();
        builder.Services.Configure<HealthCheckPublisherOptions>(o =>
        {
            o.Delay = TimeSpan.FromSeconds(1);
            o.Period = TimeSpan.FromSeconds(5);
            o.Predicate = check => check.Tags.Contains(ReadyTag);
        });
        builder.Services.AddHealthChecks()
            .AddCheck<RedisHealthCheck>("redis", tags: [ReadyTag])
            .AddCheck<LoopHealth>("loops", tags: [ReadyTag]);

        builder.Services.AddApiDescription(serviceName);
        builder.AddTelemetry(serviceName);
        return builder;
    }

    /// <summary>Options bound from <paramref name="section"/>, validated by their data annotations at start-up (<see cref="SettingsBinding"/>).</summary>
    public static OptionsBuilder<T> AddValidatedOptions<T>(this IServiceCollection services, string section) where T : class
    {
        services.AddSingleton(new BoundSection(section, typeof(T)));
        services.AddSingleton<IValidateOptions<T>>(new SettingsBinding.Validation<T>(section));
        return services.AddOptions<T>()
            .Configure<IConfiguration>((options, configuration) => SettingsBinding.Bind(configuration, section, options))
            .ValidateOnStart();
    }

    /// <summary>Fine enough to read a p99 of a few milliseconds and coarse enough to show multi-second stalls.</summary>
    private static readonly double[] MillisecondBuckets = [0.5, 1, 2, 3, 5, 7.5, 10, 15, 25, 50, 75, 100, 250, 500, 1000, 2500, 5000, 10000, 30000];

    private static void AddTelemetry(this WebApplicationBuilder builder, string serviceName)
    {
        var version = Assembly.GetEntryAssembly()?.GetName().Version?.ToString(3) ?? "0.0.0";
        var otlp = !string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]);

        var telemetry = builder.Services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService(
                serviceName,
                serviceVersion: version,
                serviceInstanceId: string.Create(CultureInfo.InvariantCulture, $"{Environment.MachineName}-{Environment.ProcessId}")))
            .WithMetrics(m => m
                .AddAspNetCoreInstrumentation()
                .AddRuntimeInstrumentation()
                .AddMeter(ArenaTelemetry.MeterPrefix + "*")
                .AddView(instrument => instrument.Meter.Name.StartsWith(ArenaTelemetry.MeterPrefix, StringComparison.Ordinal) && instrument.Unit == "ms"
                    ? new ExplicitBucketHistogramConfiguration { Boundaries = MillisecondBuckets }
                    : null)
                .AddPrometheusExporter());

        // Traces and logs leave the process only through OTLP; without an endpoint nothing
        // listens, so no span is ever built.
        if (otlp)
        {
            telemetry.WithTracing(t => t
                .AddAspNetCoreInstrumentation(o => o.Filter = ctx => !IsProbe(ctx.Request.Path))
                .AddSource(ArenaTelemetry.MeterPrefix + "*"));
            builder.Logging.AddOpenTelemetry(o =>
            {
                o.IncludeFormattedMessage = true;
                o.IncludeScopes = true;
            });
            telemetry.UseOtlpExporter();
        }
    }

    private static bool IsProbe(PathString path) =>
        path.StartsWithSegments("/healthz") || path.StartsWithSegments("/readyz") || path.StartsWithSegments("/metrics");

    /// <summary>
    /// Problem documents for unanswered requests; <c>/healthz</c> (the process answers),
    /// <c>/readyz</c> (Redis, store and loops), <c>/metrics</c> and the OpenAPI document, all open.
    /// </summary>
    public static WebApplication MapServiceDefaults(this WebApplication app)
    {
        app.UseProblemResponses();
        app.MapHealthChecks("/healthz", new HealthCheckOptions { Predicate = _ => false });
        app.MapHealthChecks("/readyz", new HealthCheckOptions
        {
            Predicate = check => check.Tags.Contains(ReadyTag),
            ResponseWriter = WriteHealthAsync,
        });
        app.MapPrometheusScrapingEndpoint("/metrics");
        app.MapOpenApi(ApiDescription.DocumentPath);
        return app;
    }

    /// <summary>Runs the service; a configuration error ends it with one clear line and exit code 2.</summary>
    public static async Task<int> RunServiceAsync(this WebApplication app)
    {
        if (app.Services.GetService<SettingsList.Requested>() is not null)
        {
            foreach (var line in SettingsList.Lines(app.Services.GetServices<BoundSection>()))
            {
                Console.WriteLine(line);
            }
            return 0;
        }
        // Every setting is read before the host starts anything, so bad ones end the service
        // with one line naming them all and nothing else.
        var problems = new List<string>();
        foreach (var bound in app.Services.GetServices<BoundSection>())
        {
            try
            {
                _ = ((IOptions<object>)app.Services.GetRequiredService(typeof(IOptions<>).MakeGenericType(bound.OptionsType))).Value;
            }
            catch (OptionsValidationException e)
            {
                problems.AddRange(e.Failures);
            }
            catch (ServiceStartupException e)
            {
                problems.Add(e.Message);
            }
        }
        if (problems.Count > 0)
        {
            app.Logger.LogCritical("Invalid configuration: {Problems}", string.Join("; ", problems));
            return 2;
        }
        try
        {
            await app.RunAsync();
            return 0;
        }
        catch (ServiceStartupException e)
        {
            app.Logger.LogCritical("Cannot start: {Problem}", e.Message);
            return 2;
        }
    }

    private static Task WriteHealthAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json";
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("status", report.Status.ToString());
            writer.WriteStartObject("checks");
            foreach (var (name, entry) in report.Entries)
            {
                writer.WriteStartObject(name);
                writer.WriteString("status", entry.Status.ToString());
                writer.WriteString("description", entry.Description);
                writer.WriteEndObject();
            }
            writer.WriteEndObject();
            writer.WriteEndObject();
        }
        return context.Response.Body.WriteAsync(buffer.ToArray()).AsTask();
    }
}
