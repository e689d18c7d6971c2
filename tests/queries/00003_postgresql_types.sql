-- Tags: no-sqlite, no-mysql, no-clickhouse
CREATE TABLE t (id int PRIMARY KEY, ok boolean, amount numeric(10, 3), tags text[], at date,
                payload bytea, note text);
INSERT INTO t VALUES (1, true, 1.5, ARRAY['a', 'b'], '2024-02-29', '\x00ff', E'tab\tnl\nbs\\');
INSERT INTO t VALUES (2, false, NULL, '{}', NULL, NULL, NULL);
SELECT * FROM t ORDER BY id;
SELECT count(*) FROM pg_tables WHERE tablename = 't' AND schemaname = current_schema();
SELECT * FROM missing; -- { serverError 42P01 }
SELECT * FROM missing; -- { serverError undefined_table }
INSERT INTO t VALUES (1, true, 0, NULL, NULL, NULL, NULL); -- { serverError unique_violation }
CREATE FUNCTION twice(x int) RETURNS int LANGUAGE sql AS $$ SELECT x * 2; $$;
CREATE FUNCTION greet(who text) RETURNS text LANGUAGE plpgsql AS $body$
BEGIN
    RETURN 'hi; ' || who;
END;
$body$;
SELECT twice(21), greet('there');
SELECT 0.1::float8, 1e20::float8, 1.0::float4, 'NaN'::float8;
