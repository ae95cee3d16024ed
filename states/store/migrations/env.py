"""Alembic environment: runs on the engine the caller hands in (see states.store.migrate)."""

from alembic import context
from sqlalchemy import text

from states.processes import installed
from states.store.models import Base

# The schema is the core's tables and the installed processes' own: importing the packages
# puts their tables in the metadata (what autogenerate compares against).
installed()

# Several API machines may start at once, each running `renshi db upgrade` first: on
# PostgreSQL they queue on one advisory lock (released at commit), and each one that follows
# finds the schema already at head.
MIGRATION_LOCK = 7_210_521

engine = context.config.attributes["engine"]
with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": MIGRATION_LOCK})
        context.run_migrations()
    connection.commit()
