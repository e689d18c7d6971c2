#!/usr/bin/env bash
# Tags: no-clickhouse
# The race above, fixed: the count waits for the insert.
set -euo pipefail
echo "CREATE TABLE t (x INTEGER);" | eval "$TOOLKIT_CLIENT"
echo "INSERT INTO t VALUES (1);" | eval "$TOOLKIT_CLIENT" &
wait
echo "SELECT count(*) FROM t;" | eval "$TOOLKIT_CLIENT"
