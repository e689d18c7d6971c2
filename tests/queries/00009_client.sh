#!/usr/bin/env bash
# Tags: long
# A shell test: the engine's own CLI on this test's database, a temp dir of its own.
set -euo pipefail
echo "database: $TOOLKIT_DATABASE"
test -d "$TOOLKIT_TMP" && echo "tmp dir: yes"
echo "SELECT 40 + 2;" | eval "$TOOLKIT_CLIENT"
