-- The same statements and the same answers on every engine.
SELECT 1 + 1;
SELECT 'hello' AS greeting, NULL AS missing;
-- a UNION ALL's rows come in any order (ClickHouse runs its branches in parallel)
SELECT a, b FROM (SELECT 2 AS a, 3 AS b UNION ALL SELECT 4, 5) AS t ORDER BY a;
