using Arena.Ingest;
using Arena.ServiceDefaults;

var builder = ServiceDefaultsExtensions.CreateBuilder(args);
builder.AddServiceDefaults("ingest", defaultPort: 8081);
builder.AddIngest();

var app = builder.Build();
app.MapServiceDefaults();
app.MapIngest();
return await app.RunServiceAsync();
