-- Tags: no-postgresql, no-mysql, no-clickhouse
CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT UNIQUE, score REAL, data BLOB);
INSERT INTO t VALUES (1, 'plain', 1.0, NULL);
INSERT INTO t VALUES (2, 'tab' || char(9) || 'newline' || char(10) || 'backslash\', 0.1, X'6869');
INSERT INTO t VALUES (3, NULL, 1e20, X'');
SELECT * FROM t ORDER BY id;
INSERT INTO t VALUES (4, 'plain', 0, NULL); -- { serverError SQLITE_CONSTRAINT_UNIQUE }
INSERT INTO t VALUES (1, 'again', 0, NULL); -- { serverError SQLITE_CONSTRAINT }
SELECT count(*) FROM t;
SELECT 1 / 3.0, 7 / 2, -0.5, 2.5e-7;
CREATE TRIGGER t_audit AFTER INSERT ON t BEGIN
    UPDATE t SET score = score + 1 WHERE id = NEW.id;
END;
INSERT INTO t (id, name, score) VALUES (5, 'triggered', 41);
SELECT score FROM t WHERE id = 5;
