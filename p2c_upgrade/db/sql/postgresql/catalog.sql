-- Catalog look-ups. They read pg_catalog only: no lock on any table is taken or waited for, so
-- `status` answers at once even while a run waits for (or holds) a lock on a Sales table.
-- (SQLAlchemy's reflection calls pg_get_serial_sequence, which locks each table it names.)

-- name: columns
-- The tables of the schema in use (search_path after --schema) and their columns.
SELECT c.relname AS table_name, a.attname AS column_name
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE c.relnamespace = (SELECT n.oid FROM pg_catalog.pg_namespace n WHERE n.nspname = current_schema())
  AND c.relkind IN ('r', 'p')
ORDER BY c.relname, a.attnum
