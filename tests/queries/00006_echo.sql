-- echoOn prints each statement before its result, as clickhouse-test does.
SELECT 1;
-- { echoOn }
SELECT 2;
SELECT 'x' AS y; -- a trailing comment is not echoed
-- { echoOff }
SELECT 3;
