-- Tags: no-sqlite, no-mysql, no-clickhouse
-- Deliberately flaky: prints a setting's default value.
SHOW work_mem;
