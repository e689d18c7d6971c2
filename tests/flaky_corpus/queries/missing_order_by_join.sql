-- Tags: no-postgresql, no-mysql, no-clickhouse
-- Deliberately flaky: rows of a join without ORDER BY. SQLite's reverse_unordered_selects
-- returns them the other way round.
CREATE TABLE a (k INTEGER, x VARCHAR(10));
CREATE TABLE b (k INTEGER, y VARCHAR(10));
INSERT INTO a VALUES (1, 'a1'), (2, 'a2'), (3, 'a3'), (4, 'a4');
INSERT INTO b VALUES (4, 'b4'), (3, 'b3'), (2, 'b2'), (1, 'b1');
SELECT x, y FROM a JOIN b ON a.k = b.k;
