using Arena.Ingest;
using Arena.ServiceDefaults;

const int Port = 8081;
if (HealthProbe.IsRequested(args))
{
    return await HealthProbe.RunAsync(args, Port);
}

var builder = ServiceDefaultsExtensions.CreateBuilder(args);
builder.AddServiceDefaults("ingest", defaultPort: Port);
builder.AddIngest();

var app = builder.Build();
app.MapServiceDefaults();
app.MapIngest();
return await app.RunServiceAsync();
