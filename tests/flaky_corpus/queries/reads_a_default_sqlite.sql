-- Tags: no-postgresql, no-mysql, no-clickhouse
-- Deliberately flaky: prints a setting's default value.
PRAGMA cache_size;
