-- The prepare step: what the P2C solution adds to Sales, each statement only where missing
-- (the tool checks the catalog before each ADD COLUMN; the rest is guarded in SQL).

-- name: add_msdynce_contactnumber
ALTER TABLE contact ADD COLUMN msdynce_contactnumber VARCHAR(20)

-- name: add_msdynce_isactivecustomer
ALTER TABLE contact ADD COLUMN msdynce_isactivecustomer BOOLEAN NOT NULL DEFAULT false

-- name: add_msdynce_iscompanyanaccount
ALTER TABLE contact ADD COLUMN msdynce_iscompanyanaccount BOOLEAN NOT NULL DEFAULT false

-- name: create_autonumber
CREATE TABLE IF NOT EXISTS msdynce_p2cautonumber (
    msdynce_entityname VARCHAR(64) NOT NULL PRIMARY KEY,
    msdynce_prefix VARCHAR(3) NOT NULL,
    msdynce_numbersequence INTEGER NOT NULL,
    msdynce_suffixlength INTEGER NOT NULL
)

-- name: insert_autonumber
-- The sequences of the upgrade package: ('account','ACC',1000,6) and ('contact','CON',1000,6).
-- An existing row (say, a sequence already at 5000) is kept as it is.
INSERT INTO msdynce_p2cautonumber (msdynce_entityname, msdynce_prefix, msdynce_numbersequence, msdynce_suffixlength)
SELECT CAST(:entity AS varchar), CAST(:prefix AS varchar), CAST(:start AS integer), CAST(:suffix_length AS integer)
WHERE NOT EXISTS (SELECT 1 FROM msdynce_p2cautonumber WHERE msdynce_entityname = CAST(:entity AS varchar))

-- name: index_customerid
-- active-customers looks up each contact in the three document tables by customerid.
CREATE INDEX IF NOT EXISTS {index} ON {table} (customerid)

-- name: enable_integration_journal
INSERT INTO p2c_journal (run_id, step, tbl, record_id, col, old_value, new_value)
SELECT :run_id, :step, 'organization', CAST(organizationid AS TEXT), 'issopintegrationenabled',
       CASE WHEN issopintegrationenabled IS NULL THEN NULL ELSE 'false' END, 'true'
FROM organization WHERE issopintegrationenabled IS DISTINCT FROM true

-- name: enable_integration
-- The upgrade script switches the organization's Prospect to cash integration on.
UPDATE organization SET issopintegrationenabled = true WHERE issopintegrationenabled IS DISTINCT FROM true

-- name: journal_ddl
-- A schema object this step created: col is (column), (table), (row) or (index), record_id its
-- name (the sequence row: its entity). See p2c_upgrade/undo.py.
INSERT INTO p2c_journal (run_id, step, tbl, record_id, col, old_value, new_value)
VALUES (:run_id, :step, :tbl, :record_id, :col, NULL, :new)
