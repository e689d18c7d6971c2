-- An expected error prints nothing; the statements around it still do.
SELECT 'before';
SELECT * FROM no_such_table_anywhere; -- { serverError SQLITE_ERROR, 42P01, 1146, UNKNOWN_TABLE }
SELECT 'after';
