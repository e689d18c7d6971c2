-- Tags: no-sqlite, no-postgresql, no-clickhouse
CREATE TABLE t (id INT PRIMARY KEY, ok BOOLEAN, amount DECIMAL(10, 3), at DATE, note TEXT,
                payload VARBINARY(10)) ENGINE = InnoDB;
INSERT INTO t VALUES (1, TRUE, 1.5, '2024-02-29', 'tab\tnl\nbs\\', x'6869');
INSERT INTO t VALUES (2, FALSE, NULL, NULL, NULL, NULL);
SELECT * FROM t ORDER BY id;
SELECT DATABASE();
SELECT * FROM missing; -- { serverError 1146 }
SELECT * FROM missing; -- { serverError ER_NO_SUCH_TABLE }
INSERT INTO t VALUES (1, TRUE, 0, NULL, NULL, NULL); -- { serverError ER_DUP_ENTRY }
CREATE TABLE audit (what VARCHAR(50));
CREATE TRIGGER t_audit AFTER INSERT ON t FOR EACH ROW
BEGIN
    INSERT INTO audit VALUES (CONCAT('row ', NEW.id));
    INSERT INTO audit VALUES ('and; more');
END;
INSERT INTO t (id) VALUES (3);
SELECT what FROM audit ORDER BY what;
SELECT 0.1e0, 1e20, 7 / 2;
