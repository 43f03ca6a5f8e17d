using Arena.ServiceDefaults;
using Arena.SseGateway;

var builder = ServiceDefaultsExtensions.CreateBuilder(args);
builder.AddServiceDefaults("sse-gateway", defaultPort: 8084);
builder.AddSseGateway();

var app = builder.Build();
app.MapServiceDefaults();
app.MapSseGateway();
return await app.RunServiceAsync();
