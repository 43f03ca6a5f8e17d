using Arena.Ranker;
using Arena.Security;
using Arena.ServiceDefaults;

const int Port = 8083;
if (HealthProbe.IsRequested(args))
{
    return await HealthProbe.RunAsync(args, Port);
}

var builder = ServiceDefaultsExtensions.CreateBuilder(args);
builder.AddServiceDefaults("ranker", defaultPort: Port);
builder.AddArenaSecurity();
builder.AddRanker();

var app = builder.Build();
app.UseArenaCors();
app.MapServiceDefaults();
app.MapRanker();
return await app.RunServiceAsync();
