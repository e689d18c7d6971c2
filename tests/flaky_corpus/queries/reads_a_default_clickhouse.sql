-- Tags: no-sqlite, no-postgresql, no-mysql
-- Deliberately flaky: prints a setting's default value.
SELECT value FROM system.settings WHERE name = 'max_threads';
