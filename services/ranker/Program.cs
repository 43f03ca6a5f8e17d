using Arena.Ranker;
using Arena.ServiceDefaults;

var builder = ServiceDefaultsExtensions.CreateBuilder(args);
builder.AddServiceDefaults("ranker", defaultPort: 8083);
builder.AddRanker();

var app = builder.Build();
app.MapServiceDefaults();
app.MapRanker();
return await app.RunServiceAsync();
