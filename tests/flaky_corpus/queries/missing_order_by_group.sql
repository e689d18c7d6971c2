-- Tags: no-sqlite, no-mysql
-- Deliberately flaky: groups without ORDER BY. PostgreSQL's enable_hashagg=off sorts them;
-- ClickHouse's thread and two-level settings reorder them.
CREATE TABLE t (k VARCHAR(10), v INTEGER);
INSERT INTO t VALUES ('pear', 1), ('apple', 2), ('fig', 3), ('kiwi', 4), ('date', 5), ('lime', 6), ('plum', 7), ('apple', 8);
SELECT k, sum(v) FROM t GROUP BY k;
