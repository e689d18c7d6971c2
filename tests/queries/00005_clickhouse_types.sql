-- Tags: no-sqlite, no-postgresql, no-mysql
CREATE TABLE t (id UInt32, name Nullable(String), amount Decimal(10, 3), at Date) ENGINE = Memory;
INSERT INTO t VALUES (1, 'tab\tnl\nbs\\', 1.5, '2024-02-29'), (2, NULL, 0, '1970-01-01');
SELECT * FROM t ORDER BY id;
SELECT currentDatabase();
SELECT * FROM missing; -- { serverError UNKNOWN_TABLE }
SELECT * FROM missing; -- { serverError 60 }
SELECT 0.1, 1e20, toFloat32(0.1), [1, 2], tuple(1, 'a');
