-- The same statements and the same answers on every engine.
SELECT 1 + 1;
SELECT 'hello' AS greeting, NULL AS missing;
SELECT 2 AS a, 3 AS b
UNION ALL
SELECT 4, 5;
