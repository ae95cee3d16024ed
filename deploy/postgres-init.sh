#!/bin/sh
# Run once by the postgres image on an empty data directory: the Prefect server's own role and
# database, beside Renshi's (POSTGRES_USER / POSTGRES_DB). Sourced or executed by the image's
# entrypoint, so no `set -u` (it would leak into the entrypoint).
set -e
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    -v prefect_password="$PREFECT_DB_PASSWORD" <<'SQL'
CREATE ROLE prefect LOGIN PASSWORD :'prefect_password';
CREATE DATABASE prefect OWNER prefect;
SQL
