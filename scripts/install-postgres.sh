#!/usr/bin/env bash
# Debian's PostgreSQL server binaries for the tests that run a throwaway cluster (scripts/postgres-throwaway.sh).
set -euo pipefail
if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" = "0" ]; then SUDO=""; else SUDO="sudo"; fi
$SUDO apt-get update -qq
# The package's own cluster is not used: the tests make their own in a temporary directory.
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql >/dev/null
