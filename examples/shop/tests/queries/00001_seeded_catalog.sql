-- Each reference test starts from a clone of the shop's template: seeds are there.
SELECT id, name FROM categories ORDER BY id;
SELECT name FROM suppliers;
SELECT version_num FROM alembic_version;
