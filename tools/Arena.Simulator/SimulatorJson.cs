using System.Text.Json.Serialization;

namespace Arena.Simulator;

[JsonSerializable(typeof(Dictionary<string, int>))]
[JsonSerializable(typeof(string))]
internal sealed partial class SimulatorJson : JsonSerializerContext;
