"""Where service logs come from: one ``LogSource`` per backend (Docker, Kubernetes, journald, files),
and ``CatalogLogs``, which picks the source the service catalog names and bounds, filters and redacts."""
