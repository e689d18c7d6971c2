#!/usr/bin/env bash
# Tags: no-clickhouse
# Deliberately flaky: the count runs while the insert started in the background may not have
# happened yet (a wait belongs before the count). Not on chDB: its clients cannot share a
# data directory at once.
set -euo pipefail
echo "CREATE TABLE t (x INTEGER);" | eval "$TOOLKIT_CLIENT"
echo "INSERT INTO t VALUES (1);" | eval "$TOOLKIT_CLIENT" &
echo "SELECT count(*) FROM t;" | eval "$TOOLKIT_CLIENT"
wait
