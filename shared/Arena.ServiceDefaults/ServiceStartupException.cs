namespace Arena.ServiceDefaults;

/// <summary>A service cannot start for a reason the operator must fix; the message says which and how.</summary>
public sealed class ServiceStartupException(string message, Exception? inner = null) : Exception(message, inner);
