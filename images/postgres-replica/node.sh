#!/bin/sh
# A primary, or with PRIMARY set a standby: its data directory is replaced by a base backup of
# the primary the first time it starts (not after a promotion or a restart).
set -eu
BIN=/usr/lib/postgresql/15/bin
DATA=/var/lib/postgresql/data
if [ -n "${PRIMARY:-}" ] && [ ! -f "$DATA/.toolkit-standby" ]; then
    rm -rf "$DATA"
    tries=0
    # the primary may still be starting: wait for it, boundedly
    until "$BIN/pg_basebackup" -h "$PRIMARY" -U postgres -D "$DATA" -R -X stream -c fast; do
        rm -rf "$DATA"
        tries=$((tries + 1))
        [ "$tries" -lt 240 ] || { echo "no base backup from $PRIMARY" >&2; exit 1; }
        sleep 0.25
    done
    touch "$DATA/.toolkit-standby"
fi
exec "$BIN/postgres" -D "$DATA" -c listen_addresses='*' -c unix_socket_directories=/tmp \
    -c fsync=off -c synchronous_commit=off -c full_page_writes=on -c wal_level=replica \
    -c max_wal_senders=10 -c hot_standby=on -c wal_receiver_status_interval=1 \
    -c wal_receiver_timeout=60s
