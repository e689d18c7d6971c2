-- Tags: no-sqlite, no-postgresql, no-clickhouse
-- Deliberately flaky: prints a setting's default value.
SELECT @@SESSION.sort_buffer_size;
