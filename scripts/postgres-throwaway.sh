#!/usr/bin/env bash
# A throwaway PostgreSQL server for tests and trying replicas out: initdb in a temporary directory, a free
# port on 127.0.0.1, trust authentication, nothing left behind. Prints the database URL as the first line
# of standard output, then runs until SIGTERM/SIGINT, when it stops the server and deletes the directory.
#   url=$(bash scripts/postgres-throwaway.sh | head -1)   # or read the first line from a test fixture
# Exit status 3: no PostgreSQL binaries (Debian: apt-get install postgresql; scripts/test.sh does).
set -euo pipefail
bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
if [ -z "$bindir" ] && command -v initdb >/dev/null 2>&1; then bindir=$(dirname "$(command -v initdb)"); fi
if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
  echo "找不到 PostgreSQL 程序（initdb）：请安装 Debian 的 postgresql 软件包" >&2
  exit 3
fi
dir=$(mktemp -d "${TMPDIR:-/tmp}/govbot-pg.XXXXXX")
as_owner=()
if [ "$(id -u)" = 0 ]; then  # initdb and postgres refuse to run as root: use the package's postgres user
  chown postgres "$dir"
  as_owner=(runuser -u postgres --)
fi
sleeper=""
stop() {
  [ -z "$sleeper" ] || kill "$sleeper" 2>/dev/null || true
  "${as_owner[@]}" "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap stop EXIT
trap 'exit 0' TERM INT
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"${as_owner[@]}" "$bindir/initdb" -D "$dir/data" -U govbot -A trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
  || { cat "$dir/initdb.log" >&2; exit 1; }
# fsync off: a test database need not survive a power cut, and it makes every commit much faster.
"${as_owner[@]}" "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
  -o "-h 127.0.0.1 -p $port -k $dir -F -c max_connections=200" start >/dev/null \
  || { cat "$dir/server.log" >&2; exit 1; }
echo "postgresql+psycopg://govbot@127.0.0.1:$port/postgres"
sleep infinity &
sleeper=$!
wait "$sleeper"
