"""The SQLAlchemy implementation of the core's ``Store`` port, and its Alembic migrations."""
