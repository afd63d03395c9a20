-- The dry-run report (`p2c-upgrade plan`), SQLite: SELECTs only, on a read-only connection
-- (mode=ro and PRAGMA query_only) inside one transaction, so every statement sees the same
-- data. Nothing here writes and nothing creates a table, not even a temporary one: what `run`
-- keeps in temp tables is a MATERIALIZED CTE here. Placeholders: {contacts} is the
-- contact_state SELECT, {planned} the planned_numbers SELECT, {rows} a *_problems SELECT;
-- {table}, {pk}, {col}, {doc}, {docid} are quoted identifiers. Values are always bind
-- parameters. p2c_dataverse_key, p2c_fno_key, p2c_seqpart and p2c_suffix are registered by
-- p2c_upgrade/db/connection.py.

-- name: planned_numbers
-- Every record a numbering job would number, and the number it gets: `run`'s own pending,
-- reserved and assign statements (sql/sqlite/numbers.sql) over the whole queue, with the
-- queue and the reserved numbers as MATERIALIZED CTEs named like run's temp tables
-- (materialized: the per-row free-number count must not rescan the table).
WITH p2c_work_queue AS MATERIALIZED ({queue}),
     p2c_work_reserved AS MATERIALIZED ({reserved})
SELECT planned.id, planned.old, planned.n, planned.new FROM ({assign}) planned

-- name: queue_size
-- How many records the step numbers: the size of run's queue (its pending statement).
SELECT count(*) FROM ({queue}) q

-- name: number_at
-- The number of one record, as run's batch (:lo, :hi] of the queue gets it from :start.
SELECT CAST(p.id AS TEXT) AS id, p.n, p.new FROM ({planned}) p

-- name: nth_free
-- The :count-th sequence number from :start that no reserved number takes: assign's formula
-- (numbers.sql) for j = :count, i.e. the last number the step hands out.
SELECT CAST(:start AS INTEGER) + :count - 1 + count(*) FROM (
    SELECT res.r - :start - (row_number() OVER (ORDER BY res.r) - 1) AS f
    FROM ({reserved}) res
    WHERE res.r >= :start
) free
WHERE free.f < :count

-- name: number_changes
-- The change list of a numbering step, in the order run hands the numbers out.
SELECT CAST(p.id AS TEXT) AS record_id, p.old AS old_value, p.new AS new_value
FROM ({planned}) p
ORDER BY p.n

-- name: contact_without_number
-- contact as the numbering SQL sees it before prepare adds msdynce_contactnumber: every
-- contact is pending and its old value is NULL.
SELECT contactid, createdon, CAST(NULL AS TEXT) AS msdynce_contactnumber FROM contact

-- name: missing_flag
-- A contact flag before prepare adds its column: the column's default.
0

-- name: sequence_rows
SELECT msdynce_entityname FROM msdynce_p2cautonumber

-- name: contact_state
-- Every contact with its two flags now ({active}, {company}: the P2C columns, or false before
-- prepare adds them) and after the upgrade, and the documents that make it an active
-- customer (in any state; customeridtype = 'contact'), as flags.sql decides them.
SELECT c.contactid, c.parentcustomerid, c.parentcustomeridtype, c.address1_country,
       CASE WHEN {active} = 0 AND d.customerid IS NOT NULL THEN 1 ELSE 0 END AS becomes_active,
       CASE WHEN {active} = 1 OR ({active} = 0 AND d.customerid IS NOT NULL)
            THEN 1 ELSE 0 END AS active_after,
       CASE WHEN c.parentcustomerid IS NOT NULL AND coalesce(c.parentcustomeridtype, '') = 'account'
            THEN 1 ELSE 0 END AS company_after,
       {company} AS company_now,
       CASE WHEN {company} IS NOT
                 (c.parentcustomerid IS NOT NULL AND coalesce(c.parentcustomeridtype, '') = 'account')
            THEN 1 ELSE 0 END AS company_changes,
       coalesce(d.via_quote, 0) AS via_quote, coalesce(d.via_salesorder, 0) AS via_salesorder,
       coalesce(d.via_invoice, 0) AS via_invoice
FROM contact c
LEFT JOIN (
    SELECT docs.customerid, max(docs.via_quote) AS via_quote,
           max(docs.via_salesorder) AS via_salesorder, max(docs.via_invoice) AS via_invoice
    FROM (
        SELECT customerid, 1 AS via_quote, 0 AS via_salesorder, 0 AS via_invoice
        FROM quote WHERE customeridtype = 'contact'
        UNION ALL
        SELECT customerid, 0, 1, 0 FROM salesorder WHERE customeridtype = 'contact'
        UNION ALL
        SELECT customerid, 0, 0, 1 FROM invoice WHERE customeridtype = 'contact'
    ) docs
    WHERE docs.customerid IS NOT NULL
    GROUP BY docs.customerid
) d ON d.customerid = c.contactid

-- name: contact_summary
-- One pass over the contacts: per sync route and country, how many contacts, how many become
-- active customers (and through which documents) and how many IsCompanyAnAccount flags change.
-- {route} (p2c_upgrade/sync/selection.py, from the templates' selections and the skip rules)
-- names the task that selects a contact after the upgrade, else why none does.
SELECT r.route, r.address1_country, count(*) AS contacts,
       sum(r.becomes_active) AS becomes_active,
       sum(r.becomes_active * r.via_quote) AS via_quote,
       sum(r.becomes_active * r.via_salesorder) AS via_salesorder,
       sum(r.becomes_active * r.via_invoice) AS via_invoice,
       sum(r.company_changes * r.company_after) AS company_to_true,
       sum(r.company_changes * (1 - r.company_after)) AS company_to_false
FROM (
    SELECT c.*, {route} AS route
    FROM ({contacts}) c
) r
GROUP BY r.route, r.address1_country

-- name: account_countries
SELECT address1_country, count(*) AS accounts FROM account GROUP BY address1_country

-- name: account_country_examples
SELECT CAST(accountid AS TEXT) AS id, address1_country AS value FROM account
WHERE address1_country IN :values OR (:with_null = 1 AND address1_country IS NULL)
ORDER BY accountid
LIMIT :examples

-- name: contact_country_examples
-- Only contacts a sync task selects (after the upgrade; {selected}, from the templates'
-- selections by p2c_upgrade/sync/selection.py): the others never reach F&O.
SELECT CAST(c.contactid AS TEXT) AS id, c.address1_country AS value FROM ({contacts}) c
WHERE {selected}
  AND (c.address1_country IN :values OR (:with_null = 1 AND c.address1_country IS NULL))
ORDER BY c.contactid
LIMIT :examples

-- name: active_customers_changes
-- Journaled by run as old 'false', new 'true' (sql/sqlite/flags.sql).
SELECT CAST(c.contactid AS TEXT) AS record_id, 'false' AS old_value, 'true' AS new_value
FROM ({contacts}) c
WHERE c.becomes_active = 1
ORDER BY c.contactid

-- name: company_is_account_changes
-- Journaled by run from the old value (sql/sqlite/flags.sql).
SELECT CAST(c.contactid AS TEXT) AS record_id,
       CASE WHEN c.company_now THEN 'true' ELSE 'false' END AS old_value,
       CASE WHEN c.company_now THEN 'false' ELSE 'true' END AS new_value
FROM ({contacts}) c
WHERE c.company_changes = 1
ORDER BY c.contactid

-- name: organization_changes
-- prepare switches the Prospect to cash integration on (sql/sqlite/prepare.sql).
SELECT CAST(organizationid AS TEXT) AS record_id,
       CASE WHEN issopintegrationenabled IS NULL THEN NULL ELSE 'false' END AS old_value,
       'true' AS new_value
FROM organization
WHERE issopintegrationenabled IS NOT 1
ORDER BY organizationid

-- name: organization_count
SELECT count(*) FROM organization WHERE issopintegrationenabled IS NOT 1

-- name: problems
-- Per kind of problem and table: how many records, and the first :examples of them by id.
SELECT y.problem, y.tbl, y.id, y.value, y.cnt FROM (
    SELECT x.problem, x.tbl, x.id, x.value,
           row_number() OVER (PARTITION BY x.problem, x.tbl ORDER BY x.id) AS rn,
           count(*) OVER (PARTITION BY x.problem, x.tbl) AS cnt
    FROM ({rows}) x
) y
WHERE y.rn <= :examples
ORDER BY y.problem, y.tbl, y.id

-- name: key_problems
-- Existing numbers F&O cannot take as keys: longer than :max_length characters (F&O keys are
-- 20), or holding one of the characters that break Web API look-ups by key (:bad_glob is
-- `*[...]*` with those characters in the brackets).
SELECT 'too_long' AS problem, CAST(:tbl AS TEXT) AS tbl, CAST(t.{pk} AS TEXT) AS id,
       CAST(t.{col} AS TEXT) AS value
FROM {table} t
WHERE length(t.{col}) > :max_length
UNION ALL
SELECT 'bad_characters', CAST(:tbl AS TEXT), CAST(t.{pk} AS TEXT), CAST(t.{col} AS TEXT)
FROM {table} t
WHERE t.{col} GLOB :bad_glob

-- name: contact_parent_problems
-- Contacts whose company (parent) does not exist, or whose parent type is neither account
-- nor contact.
SELECT x.problem, 'contact' AS tbl, CAST(x.contactid AS TEXT) AS id, x.value FROM (
    SELECT c.contactid,
           CASE WHEN c.parentcustomeridtype IS NULL
                  OR c.parentcustomeridtype NOT IN ('account', 'contact') THEN 'parent_type_unknown'
                WHEN a.accountid IS NULL AND p.contactid IS NULL THEN 'parent_missing'
           END AS problem,
           CASE WHEN c.parentcustomeridtype IS NULL
                  OR c.parentcustomeridtype NOT IN ('account', 'contact')
                THEN CAST(c.parentcustomeridtype AS TEXT)
                ELSE CAST(c.parentcustomerid AS TEXT) END AS value
    FROM contact c
    LEFT JOIN account a ON c.parentcustomeridtype = 'account' AND a.accountid = c.parentcustomerid
    LEFT JOIN contact p ON c.parentcustomeridtype = 'contact' AND p.contactid = c.parentcustomerid
    WHERE c.parentcustomerid IS NOT NULL
) x
WHERE x.problem IS NOT NULL

-- name: document_problems
-- Quotes, orders or invoices ({doc}) whose customer does not exist (or is not set), or whose
-- customeridtype is neither account nor contact.
SELECT x.problem, CAST(:tbl AS TEXT) AS tbl, CAST(x.id AS TEXT) AS id, x.value FROM (
    SELECT d.{docid} AS id,
           CASE WHEN d.customerid IS NULL THEN 'customer_missing'
                WHEN d.customeridtype IS NULL
                  OR d.customeridtype NOT IN ('account', 'contact') THEN 'customer_type_unknown'
                WHEN a.accountid IS NULL AND p.contactid IS NULL THEN 'customer_missing'
           END AS problem,
           CASE WHEN d.customerid IS NOT NULL
                 AND (d.customeridtype IS NULL OR d.customeridtype NOT IN ('account', 'contact'))
                THEN CAST(d.customeridtype AS TEXT)
                ELSE CAST(d.customerid AS TEXT) END AS value
    FROM {doc} d
    LEFT JOIN account a ON d.customeridtype = 'account' AND a.accountid = d.customerid
    LEFT JOIN contact p ON d.customeridtype = 'contact' AND p.contactid = d.customerid
) x
WHERE x.problem IS NOT NULL

-- name: account_names
-- Only with --show-personal-data.
SELECT CAST(accountid AS TEXT) AS id, name FROM account WHERE CAST(accountid AS TEXT) IN :ids

-- name: contact_names
-- Only with --show-personal-data.
SELECT CAST(contactid AS TEXT) AS id, trim(coalesce(firstname, '') || ' ' || coalesce(lastname, '')) AS name
FROM contact WHERE CAST(contactid AS TEXT) IN :ids

-- name: read_only_check
PRAGMA query_only
