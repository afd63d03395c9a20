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

-- name: other_sales_schemas
-- Other schemas that hold the Sales tables account and contact (a --schema hint when the
-- schema in use has none); system schemas left out.
SELECT n.nspname
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relname IN ('account', 'contact') AND c.relkind IN ('r', 'p')
  AND n.nspname IS DISTINCT FROM current_schema()
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_%'
GROUP BY n.nspname
HAVING count(DISTINCT c.relname) = 2
ORDER BY n.nspname
