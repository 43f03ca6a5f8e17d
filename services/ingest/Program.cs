using Arena.Ingest;
using Arena.Security;
using Arena.ServiceDefaults;

const int Port = 8081;
if (HealthProbe.IsRequested(args))
{
    return await HealthProbe.RunAsync(args, Port);
}

var builder = ServiceDefaultsExtensions.CreateBuilder(args);
builder.AddServiceDefaults("ingest", defaultPort: Port);
builder.AddArenaSecurity();
builder.AddIngest();

var app = builder.Build();
app.UseArenaCors();
app.MapServiceDefaults();
app.MapIngest();
return await app.RunServiceAsync();
