-- Tags: no-sqlite, no-postgresql, no-clickhouse
-- Deliberately flaky: LIMIT over a join without ORDER BY. MariaDB's block nested loop join
-- emits rows in another order when the join buffer is small (join_buffer_size=128).
CREATE TABLE a (k INTEGER, x VARCHAR(200));
CREATE TABLE b (k INTEGER, y VARCHAR(200));
INSERT INTO a SELECT seq, REPEAT('a', 150) FROM seq_1_to_300;
INSERT INTO b SELECT 301 - seq, REPEAT('b', 150) FROM seq_1_to_300;
SELECT a.k FROM a JOIN b ON a.k = b.k LIMIT 5;
