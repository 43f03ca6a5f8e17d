using Arena.Persister;
using Arena.Security;
using Arena.ServiceDefaults;

const int Port = 8082;
if (HealthProbe.IsRequested(args))
{
    return await HealthProbe.RunAsync(args, Port);
}

var builder = ServiceDefaultsExtensions.CreateBuilder(args);
builder.AddServiceDefaults("persister", defaultPort: Port);
builder.AddArenaSecurity();
builder.AddPersister();

var app = builder.Build();
app.UseArenaCors();
app.MapServiceDefaults();
app.MapPersister();
return await app.RunServiceAsync();
