using Arena.Security;
using Arena.ServiceDefaults;
using Arena.SseGateway;

const int Port = 8084;
if (HealthProbe.IsRequested(args))
{
    return await HealthProbe.RunAsync(args, Port);
}

var builder = ServiceDefaultsExtensions.CreateBuilder(args);
builder.AddServiceDefaults("sse-gateway", defaultPort: Port);
builder.AddArenaSecurity();
builder.AddSseGateway();

var app = builder.Build();
app.UseArenaCors();
app.MapServiceDefaults();
app.MapSseGateway();
return await app.RunServiceAsync();
