using Arena.Persister;
using Arena.ServiceDefaults;

var builder = ServiceDefaultsExtensions.CreateBuilder(args);
builder.AddServiceDefaults("persister", defaultPort: 8082);
builder.AddPersister();

var app = builder.Build();
app.MapServiceDefaults();
app.MapPersister();
return await app.RunServiceAsync();
