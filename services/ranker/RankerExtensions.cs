using System.Diagnostics.Metrics;
using Arena.Messaging;
using Arena.Ranker.Storage;
using Arena.ServiceDefaults;
using Arena.Storage;
using Microsoft.Extensions.Options;

namespace Arena.Ranker;

public static class RankerExtensions
{
    public static WebApplicationBuilder AddRanker(this WebApplicationBuilder builder)
    {
        builder.Services.AddValidatedOptions<RankerOptions>(RankerOptions.Section);
        builder.Services.AddValidatedOptions<DuckDbOptions>(RankerOptions.Section);
        builder.Services.AddSingleton(sp =>
        {
            var store = RankerStore.Open(sp.GetRequiredService<IOptions<ArenaOptions>>().Value.DataDir,
                sp.GetRequiredService<IOptions<DuckDbOptions>>().Value);
            store.File.ReportMemory(sp.GetRequiredService<IMeterFactory>(), ArenaTelemetry.MeterPrefix + "Ranker");
            store.File.ReportDisk(sp.GetRequiredService<IMeterFactory>(), ArenaTelemetry.MeterPrefix + "Ranker");
            return store;
        });
        builder.Services.AddSingleton<LeaderboardHistory>();
        builder.Services.AddSingleton<LeaderboardService>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<LeaderboardService>());
        builder.Services.AddStreamConsumer<RankHandler>(RankerOptions.Section, RankerOptions.Group,
            isTransient: DuckDbFile.IsTransient, linger: ConsumerOptions.ServiceLinger);
        return builder;
    }

    public static WebApplication MapRanker(this WebApplication app)
    {
        app.MapLeaderboard();
        return app;
    }
}
