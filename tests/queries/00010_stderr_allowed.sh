#!/usr/bin/env bash
# Tags: allow-stderr
# A test tagged allow-stderr may write to stderr; only stdout is compared.
echo "progress noise" >&2
echo "result"
