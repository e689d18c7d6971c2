-- A correct test: a join, a sort and an aggregation, every result in a stated order.
CREATE TABLE a (k INTEGER, x VARCHAR(10));
CREATE TABLE b (k INTEGER, y INTEGER);
INSERT INTO a VALUES (3, 'c'), (1, 'a'), (2, 'b'), (4, 'd');
INSERT INTO b VALUES (2, 20), (4, 40), (1, 10), (3, 30), (1, 5);
SELECT x, sum(y) FROM a JOIN b ON a.k = b.k GROUP BY x ORDER BY x;
SELECT count(*), max(y) FROM b;
