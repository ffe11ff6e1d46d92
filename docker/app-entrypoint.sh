#!/bin/bash
# Starts Spin with the database connection string assembled from the parts compose
# passes and the password file (a secret), so the password is in no file of the repo,
# no image layer and no environment variable anyone can read with `docker inspect`.
#
#   app-entrypoint up ...      run `spin up ...`
#   app-entrypoint watch ...   hot reload in the dev image: the bind-mounted source's
#                              scripts/watch (`spin watch ...` with quick builds)
#   app-entrypoint healthcheck exit 0 when /health/ready answers 200
set -euo pipefail

if [ "${1:-}" = healthcheck ]; then
  exec 3<>/dev/tcp/127.0.0.1/3000
  printf 'GET /health/ready HTTP/1.0\r\nHost: localhost\r\n\r\n' >&3
  read -r _ status _ <&3
  [ "$status" = 200 ]
  exit
fi

if [ -n "${DB_PASSWORD_FILE:-}" ]; then
  password=$(<"$DB_PASSWORD_FILE")
  # Key=value form: the password needs no URL-encoding; quote it for libpq syntax.
  password=${password//\\/\\\\}
  password=${password//\'/\\\'}
  export SPIN_VARIABLE_DB_URL="host=${SPIN_VARIABLE_DB_HOST} port=${SPIN_VARIABLE_DB_PORT:-5432} user=${DB_USER} password='${password}' dbname=${DB_NAME} sslmode=disable connect_timeout=5"
fi
if [ "${1:-}" = watch ]; then
  shift
  exec ./scripts/watch "$@"
fi
exec spin "$@"
