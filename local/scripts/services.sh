#!/usr/bin/env bash
# Brings up the services Ari needs on loopback, under a folder of its own:
#   services.sh install                 install what is missing (Debian, as root)
#   services.sh install-browser         install headless Chromium for the browser tests
#   services.sh start DIR PGPORT RPORT  start Postgres and Redis (reuses running ones)
#   services.sh stop DIR                stop what start started
#   services.sh purge DIR               stop, then delete the data start created
# Postgres refuses to run as root, so its cluster belongs to the postgres user.
# When root starts it under a folder the postgres user cannot reach (a checkout
# under /root, a .local/ created 0750), the cluster lives in a postgres-owned
# folder keyed by DIR's path instead (see pg_home).
set -euo pipefail

PGBIN=""
find_pg() {
  for d in /usr/lib/postgresql/*/bin /usr/local/bin /usr/bin; do
    if [ -x "$d/initdb" ] && [ -x "$d/postgres" ]; then PGBIN="$d"; return 0; fi
  done
  return 1
}

need_root_debian() {
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    echo "services: missing $1. Install it yourself (Debian/Ubuntu: apt-get install -y $2), or set $3 to a running server." >&2
    exit 1
  fi
}

apt_updated=""
apt_install() {
  if [ -z "$apt_updated" ]; then apt-get update -qq; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

install() {
  if [ "${SKIP_REDIS:-}" != 1 ] && ! command -v redis-server >/dev/null; then
    need_root_debian redis-server redis-server REDIS_URL
    echo "services: installing redis-server"
    apt_install redis-server
  fi
  if [ "${SKIP_POSTGRES:-}" != 1 ]; then
    if ! find_pg; then
      need_root_debian "PostgreSQL server binaries (initdb, postgres)" postgresql DATABASE_URL
      echo "services: installing postgresql"
      apt_install postgresql
    fi
    if ! command -v pg_isready >/dev/null || ! command -v psql >/dev/null; then
      need_root_debian "psql and pg_isready" postgresql-client DATABASE_URL
      apt_install postgresql-client
    fi
    if [ "$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; then
      useradd --system --user-group --home-dir /var/lib/postgresql postgres
    fi
  fi
}

# Browser tests (shared/testenv/browser) drive Debian's chromium; `make test`
# installs it, `make local` does not need it.
install_browser() {
  if [ -x /usr/bin/chromium ]; then return 0; fi
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    echo "services: missing /usr/bin/chromium for the browser tests. Install it yourself (Debian/Ubuntu: apt-get install -y chromium)." >&2
    exit 1
  fi
  echo "services: installing chromium"
  apt_install --no-install-recommends chromium
}

as_pg() {
  if [ "$(id -u)" = 0 ]; then
    setpriv --reuid=postgres --regid=postgres --init-groups env HOME=/tmp "$@"
  else
    "$@"
  fi
}

# Where the postgres user keeps clusters it cannot keep under DIR.
PG_CLUSTERS=${ARI_PG_CLUSTERS:-/var/lib/postgresql/ari-clusters}

# pg_home DIR prints the folder holding the cluster for DIR (data/, socket,
# log): DIR itself when the postgres user can write there, else a folder under
# PG_CLUSTERS named by a hash of DIR's path. The choice is recorded in
# DIR/cluster so stop and purge find it even if DIR's parents change later.
pg_home() {
  local dir=$1
  if [ -f "$dir/cluster" ]; then cat "$dir/cluster"; return 0; fi
  if [ "$(id -u)" != 0 ]; then echo "$dir"; return 0; fi
  chown postgres:postgres "$dir"
  if as_pg test -w "$dir" -a -x "$dir"; then echo "$dir"; return 0; fi
  local home
  home="$PG_CLUSTERS/$(printf '%s' "$dir" | sha256sum | cut -c1-16)"
  # Every parent must be traversable by postgres; never loosen an existing one.
  local parent
  parent=$(dirname "$PG_CLUSTERS")
  [ -d "$parent" ] || command install -d -m 0755 "$parent"
  [ -d "$PG_CLUSTERS" ] || command install -d -m 0755 -o postgres -g postgres "$PG_CLUSTERS"
  command install -d -m 0700 -o postgres -g postgres "$home"
  if ! as_pg test -w "$home"; then
    echo "services: the postgres user cannot reach $dir nor $home; set ARI_PG_CLUSTERS to a folder it can write" >&2
    exit 1
  fi
  echo "$home" >"$dir/cluster"
  echo "$home"
}

start_pg() {
  local dir=$1 port=$2
  find_pg || { echo "services: PostgreSQL binaries not found; run: $0 install" >&2; exit 1; }
  mkdir -p "$dir"
  if pg_isready -q -h 127.0.0.1 -p "$port"; then return 0; fi
  local home
  home=$(pg_home "$dir")
  if [ ! -f "$home/data/PG_VERSION" ]; then
    as_pg "$PGBIN/initdb" -D "$home/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 --no-sync >"$dir/initdb.log" 2>&1 \
      || { cat "$dir/initdb.log" >&2; exit 1; }
  fi
  as_pg "$PGBIN/pg_ctl" -D "$home/data" -l "$home/postgres.log" -w -t 30 \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $home -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" \
    start >/dev/null || { tail -20 "$home/postgres.log" >&2; exit 1; }
}

start_redis() {
  local dir=$1 port=$2
  mkdir -p "$dir"
  if redis-cli -h 127.0.0.1 -p "$port" ping >/dev/null 2>&1; then return 0; fi
  redis-server --bind 127.0.0.1 --port "$port" --dir "$dir" --save '' --appendonly no \
    --daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/redis.log"
  for _ in $(seq 1 50); do
    redis-cli -h 127.0.0.1 -p "$port" ping >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "services: redis did not start; see $dir/redis.log" >&2
  exit 1
}

# A Redis Cluster on loopback for the tests that run against one: three
# masters and a replica each on ports FIRST..FIRST+5 (cluster bus on +10000).
start_redis_cluster() {
  local dir=$1 first=$2 ports=() p
  mkdir -p "$dir"
  for i in 0 1 2 3 4 5; do
    p=$((first + i)); ports+=("127.0.0.1:$p")
    mkdir -p "$dir/$p"
    redis-cli -h 127.0.0.1 -p "$p" ping >/dev/null 2>&1 && continue
    redis-server --bind 127.0.0.1 --port "$p" --dir "$dir/$p" --save '' --appendonly no \
      --cluster-enabled yes --cluster-config-file nodes.conf --cluster-node-timeout 2000 --cluster-replica-validity-factor 0 \
      --daemonize yes --pidfile "$dir/$p/redis.pid" --logfile "$dir/$p/redis.log"
  done
  for p in "${ports[@]}"; do
    for _ in $(seq 1 50); do redis-cli -h 127.0.0.1 -p "${p#*:}" ping >/dev/null 2>&1 && break; sleep 0.1; done
  done
  # Nodes restarted over their own nodes.conf (a reboot) already know each
  # other and find their cluster again by themselves: wait, do not create.
  if [ "$(redis-cli -h 127.0.0.1 -p "$first" cluster nodes 2>/dev/null | grep -c .)" -le 1 ]; then
    redis-cli --cluster create "${ports[@]}" --cluster-replicas 1 --cluster-yes >"$dir/create.log" 2>&1 \
      || { cat "$dir/create.log" >&2; exit 1; }
  fi
  for _ in $(seq 1 200); do
    local ok=1
    for p in "${ports[@]}"; do
      redis-cli -h 127.0.0.1 -p "${p#*:}" cluster info 2>/dev/null | grep -q 'cluster_state:ok' || ok=0
    done
    # ready when every node agrees and each master has its replica
    [ "$(redis-cli -h 127.0.0.1 -p "$first" cluster nodes 2>/dev/null | grep -c slave)" = 3 ] || ok=0
    [ $ok = 1 ] && return 0
    sleep 0.1
  done
  echo "services: the Redis cluster did not become ready; see $dir" >&2
  exit 1
}

# The cluster folder start used for DIR/postgres, without creating one.
existing_pg_home() {
  if [ -f "$1/cluster" ]; then cat "$1/cluster"; else echo "$1"; fi
}

stop() {
  local dir=$1 home
  home=$(existing_pg_home "$dir/postgres")
  if [ -f "$home/data/postmaster.pid" ] && find_pg; then
    as_pg "$PGBIN/pg_ctl" -D "$home/data" -m fast -w stop >/dev/null 2>&1 || true
  fi
  if [ -f "$dir/redis/redis.pid" ]; then
    kill "$(cat "$dir/redis/redis.pid")" 2>/dev/null || true
    rm -f "$dir/redis/redis.pid"
  fi
  local pid
  for pid in "$dir"/redis-cluster/*/redis.pid; do
    [ -f "$pid" ] || continue
    kill "$(cat "$pid")" 2>/dev/null || true
    rm -f "$pid"
  done
}

purge() {
  local dir=$1
  stop "$dir"
  local home
  home=$(existing_pg_home "$dir/postgres")
  if [ "$home" != "$dir/postgres" ]; then rm -rf "$home"; fi
  rm -rf "$dir"
}

cmd=${1:-}
case "$cmd" in
  install) install ;;
  install-browser) install_browser ;;
  start)
    dir=$(realpath -m "$2")
    [ "${SKIP_POSTGRES:-}" = 1 ] || start_pg "$dir/postgres" "$3"
    [ "${SKIP_REDIS:-}" = 1 ] || start_redis "$dir/redis" "$4"
    [ -z "${5:-}" ] || start_redis_cluster "$dir/redis-cluster" "$5"
    ;;
  stop) stop "$(realpath -m "$2")" ;;
  purge) purge "$(realpath -m "$2")" ;;
  *) echo "usage: $0 install | install-browser | start DIR PGPORT REDISPORT [CLUSTERPORT] | stop DIR | purge DIR" >&2; exit 2 ;;
esac
