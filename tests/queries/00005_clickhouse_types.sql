-- Tags: no-sqlite, no-postgresql, no-mysql
-- Decimals use their whole scale and the dates avoid the epoch: servers before 21.x print
-- trailing zeros (1.500) and 1970-01-01 as 0000-00-00, newer ones do not.
CREATE TABLE t (id UInt32, name Nullable(String), amount Decimal(10, 3), at Date) ENGINE = Memory;
INSERT INTO t VALUES (1, 'tab\tnl\nbs\\', 1.125, '2024-02-29'), (2, NULL, 0.001, '1970-01-02');
SELECT * FROM t ORDER BY id;
SELECT currentDatabase();
SELECT * FROM missing; -- { serverError UNKNOWN_TABLE }
SELECT * FROM missing; -- { serverError 60 }
SELECT 0.1, 1e20, toFloat32(0.1), [1, 2], tuple(1, 'a');
