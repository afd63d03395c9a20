-- undo: put back the old values recorded in p2c_journal (the logic: p2c_upgrade/undo.py).
-- {table}, {pk}, {col}, {index} come from a fixed list in the code (never from the journal's
-- text) and are quoted; {pk_type} is the key's type from the catalog. {current} is the column's
-- value as journal text, {restored} the journaled old value in the column's type, {non_default}
-- a record whose column holds something else than its default (the fragments at the end).
-- Every restore is guarded: a record is written only while it still holds the value the
-- journaled change gave it, so a second undo writes nothing and a later edit is never lost.

-- name: runs_of_step
SELECT DISTINCT run_id FROM p2c_journal WHERE step = :step ORDER BY run_id DESC

-- name: value_groups
-- One journaled column of one step of the run, newest first.
SELECT step, tbl, col, count(*) AS n, min(journal_id) AS lo, max(journal_id) AS hi
FROM p2c_journal
WHERE run_id = :run_id AND (CAST(:step AS varchar) IS NULL OR step = CAST(:step AS varchar))
  AND tbl <> 'msdynce_p2cautonumber' AND col NOT IN ('(column)', '(table)', '(row)', '(index)')
GROUP BY step, tbl, col
ORDER BY max(journal_id) DESC

-- name: special_entries
-- The sequence moves and the schema objects of the run, newest first.
SELECT journal_id, step, tbl, record_id, col, old_value, new_value
FROM p2c_journal
WHERE run_id = :run_id AND (CAST(:step AS varchar) IS NULL OR step = CAST(:step AS varchar))
  AND (tbl = 'msdynce_p2cautonumber' OR col IN ('(column)', '(table)', '(row)', '(index)'))
ORDER BY journal_id DESC

-- name: batch
-- One batch of a group: a range of journal ids (the primary key serves it).
SELECT record_id, old_value, new_value FROM p2c_journal
WHERE journal_id > :lo AND journal_id <= :hi
  AND run_id = :run_id AND step = :step AND tbl = :tbl AND col = :col

-- name: batch_counts
-- restorable: still holds the journaled new value; already: holds the old one; to_default:
-- restorable to the column's default (decides whether prepare's column can go).
WITH j AS ({batch})
SELECT count(*) AS total,
       count(t.{pk}) AS present,
       count(*) FILTER (WHERE t.{pk} IS NOT NULL AND {current} IS NOT DISTINCT FROM j.new_value) AS restorable,
       count(*) FILTER (WHERE t.{pk} IS NOT NULL AND {current} IS NOT DISTINCT FROM j.new_value
                          AND (j.old_value IS NULL OR j.old_value = {default_text})) AS to_default,
       count(*) FILTER (WHERE t.{pk} IS NOT NULL AND {current} IS DISTINCT FROM j.new_value
                          AND {current} IS NOT DISTINCT FROM j.old_value) AS already
FROM j LEFT JOIN {table} t ON t.{pk} = CAST(j.record_id AS {pk_type})

-- name: batch_conflicts
WITH j AS ({batch})
SELECT j.record_id, j.new_value, {current} AS current_value
FROM j JOIN {table} t ON t.{pk} = CAST(j.record_id AS {pk_type})
WHERE {current} IS DISTINCT FROM j.new_value AND {current} IS DISTINCT FROM j.old_value
ORDER BY j.record_id
LIMIT :limit

-- name: batch_restorable_values
-- Dry run: the numbers a restore of this batch would free.
WITH j AS ({batch})
SELECT j.new_value FROM j JOIN {table} t ON t.{pk} = CAST(j.record_id AS {pk_type})
WHERE {current} IS NOT DISTINCT FROM j.new_value

-- name: batch_restore
-- Restore and journal what undo changed (step 'undo', the undo's own run), in one statement.
WITH j AS ({batch}), changed AS (
    UPDATE {table} t SET {col} = {restored}
    FROM j
    WHERE t.{pk} = CAST(j.record_id AS {pk_type}) AND {current} IS NOT DISTINCT FROM j.new_value
    RETURNING j.record_id, j.old_value, j.new_value
)
INSERT INTO p2c_journal (run_id, step, tbl, record_id, col, old_value, new_value)
SELECT :undo_run, 'undo', :tbl, record_id, :col, new_value, old_value FROM changed

-- name: group_old_defaults
-- For a column that no longer exists: how many journaled old values were its default.
SELECT count(*) FILTER (WHERE old_value IS NULL OR old_value = {default_text}) FROM p2c_journal
WHERE run_id = :run_id AND step = :step AND tbl = :tbl AND col = :col

-- name: handed_numbers
-- The numbers one batch of a numbering step handed out (journaled just before its sequence move).
SELECT new_value FROM p2c_journal
WHERE journal_id > :lo AND journal_id < :hi
  AND run_id = :run_id AND step = :step AND tbl = :tbl AND col = :col

-- name: numbers_in_use
SELECT {col} FROM {table} WHERE {col} IS NOT NULL

-- name: sequence_value
SELECT msdynce_numbersequence FROM msdynce_p2cautonumber WHERE msdynce_entityname = :entity
FOR UPDATE

-- name: sequence_set
UPDATE msdynce_p2cautonumber SET msdynce_numbersequence = CAST(:target AS integer)
WHERE msdynce_entityname = :entity AND msdynce_numbersequence = CAST(:expect AS integer)

-- name: journal_entry
INSERT INTO p2c_journal (run_id, step, tbl, record_id, col, old_value, new_value)
VALUES (:undo_run, 'undo', :tbl, :record_id, :col, :old, :new)

-- name: non_default_count
SELECT count(*) FROM {table} t WHERE {non_default}

-- name: drop_column
ALTER TABLE {table} DROP COLUMN {col}

-- name: autonumber_row
SELECT msdynce_prefix, msdynce_numbersequence, msdynce_suffixlength
FROM msdynce_p2cautonumber WHERE msdynce_entityname = :entity

-- name: delete_autonumber_row
-- Only the row exactly as prepare inserted it (its sequence back at the first number).
DELETE FROM msdynce_p2cautonumber
WHERE msdynce_entityname = :entity AND msdynce_prefix = :prefix
  AND msdynce_numbersequence = CAST(:start AS integer)
  AND msdynce_suffixlength = CAST(:suffix_length AS integer)

-- name: autonumber_count
SELECT count(*) FROM msdynce_p2cautonumber

-- name: drop_autonumber
DROP TABLE msdynce_p2cautonumber

-- name: drop_index
DROP INDEX IF EXISTS {index}

-- Fragments (text and boolean columns). Booleans are journaled as 'true' / 'false'.

-- name: current_text
CAST(t.{col} AS text)

-- name: current_bool
CAST(t.{col} AS text)

-- name: restored_text
j.old_value

-- name: restored_bool
CAST(j.old_value AS boolean)

-- name: non_default_text
t.{col} IS NOT NULL

-- name: non_default_bool
t.{col} IS DISTINCT FROM false

-- name: holding_steps
-- A partial undo: the other steps (not :step, not undo itself) whose journaled values records
-- of {table} still hold in {col}, latest first: what to undo before :step's column can go.
SELECT j.step, max(j.run_id) AS run_id, count(*) AS n
FROM p2c_journal j JOIN {table} t ON t.{pk} = CAST(j.record_id AS {pk_type})
WHERE j.tbl = :tbl AND j.col = :col AND j.step NOT IN (:step, 'undo') AND {current} IS NOT DISTINCT FROM j.new_value
GROUP BY j.step
ORDER BY max(j.journal_id) DESC

-- name: last_mover
-- A partial undo: the later journaled move that left the sequence at :current (not undo's own).
SELECT run_id, step FROM p2c_journal
WHERE tbl = 'msdynce_p2cautonumber' AND record_id = :entity AND col = 'msdynce_numbersequence'
  AND journal_id > :after AND new_value = :current AND step <> 'undo'
ORDER BY journal_id DESC
LIMIT 1
