"""The REST API ``/api/it_devops/`` (issue 13): a FastAPI adapter over the same core as chat."""
