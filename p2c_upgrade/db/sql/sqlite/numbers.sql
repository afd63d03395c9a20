-- Number assignment for account.accountnumber and contact.msdynce_contactnumber (SQLite).
-- {table}, {pk}, {col} are the job's table, primary key and number column.
-- {is_blank} and {dataverse_key} are keys.sql's expressions over t.{col} (rules/keys.py);
-- p2c_seqpart(value, prefix) and p2c_suffix(key, salt, length) are registered by p2c-upgrade
-- on every connection (p2c_upgrade/db/connection.py); printf('%05d') pads without truncating.

-- name: pending
-- Records without a number (NULL or blank), oldest first; undated records last.
SELECT row_number() OVER (ORDER BY t.createdon IS NULL, t.createdon, t.{pk}) AS k,
       t.{pk} AS id, t.{col} AS old
FROM {table} t
WHERE {is_blank}

-- name: duplicates
-- Records that must give up their number: every member of a colliding group (the duplicate
-- gate's key, {dataverse_key} of keys.sql: case- and accent-insensitive, trailing blanks
-- ignored) but the oldest.
SELECT row_number() OVER (ORDER BY r.createdon IS NULL, r.createdon, r.id) AS k, r.id, r.old
FROM (
    SELECT id, old, createdon,
           row_number() OVER (PARTITION BY fk ORDER BY createdon IS NULL, createdon, id) AS rank,
           count(*) OVER (PARTITION BY fk) AS size
    FROM (
        SELECT t.{pk} AS id, t.{col} AS old, t.createdon, {dataverse_key} AS fk
        FROM {table} t
        WHERE NOT {is_blank}
    ) keyed
) r
WHERE r.size > 1 AND r.rank > 1

-- name: reserved
-- Sequence numbers already taken by existing values that look generated (PREFIX-<digits>-...,
-- compared as the duplicate gate compares, rules.keys.dataverse_key): a generated number
-- never repeats one of them. The key maps one character to one and keeps leading ones, so
-- such a value has '-' right after the prefix: that native test keeps the Python function off
-- every other row.
SELECT DISTINCT r FROM (
    SELECT p2c_seqpart(t.{col}, :prefix) AS r FROM {table} t
    WHERE substr(t.{col}, length(:prefix) + 1, 1) = '-'
) s
WHERE r IS NOT NULL

-- name: assign
-- The numbers for queue entries lo < k <= hi: the j-th of them (j = k - lo) gets the j-th free
-- sequence number from :start (free: not reserved). Whether each record still holds the value
-- it was queued with is checked when the batch is applied (apply_batch is guarded and counted:
-- a record changed under the run makes the whole batch roll back).
WITH b AS (
    SELECT q.id, q.old, q.k - :lo AS j
    FROM p2c_work_queue q
    WHERE q.k > :lo AND q.k <= :hi
), f AS MATERIALIZED (
    SELECT r - :start - (row_number() OVER (ORDER BY r) - 1) AS f
    FROM p2c_work_reserved
    WHERE r >= :start
), n AS (
    SELECT b.id, b.old, b.j, :start + b.j - 1 + (SELECT count(*) FROM f WHERE f.f < b.j) AS n
    FROM b
)
SELECT n.id, n.old, n.n,
       :prefix || '-' || printf('%05d', n.n) || '-' || p2c_suffix(n.id, :salt, :suffix_length) AS new
FROM n

-- name: make_queue
CREATE TEMPORARY TABLE p2c_work_queue (k INTEGER PRIMARY KEY, id, old)

-- name: fill_queue
INSERT INTO p2c_work_queue (k, id, old) {select}

-- name: make_reserved
CREATE TEMPORARY TABLE p2c_work_reserved AS {select}

-- name: make_batch
CREATE TEMPORARY TABLE p2c_work_batch AS {select}

-- name: drop_batch
DROP TABLE IF EXISTS temp.p2c_work_batch

-- name: drop_queue
DROP TABLE IF EXISTS temp.p2c_work_queue

-- name: drop_reserved
DROP TABLE IF EXISTS temp.p2c_work_reserved

-- name: queue_size
SELECT count(*) FROM p2c_work_queue

-- name: lock_sequence
SELECT msdynce_prefix, msdynce_numbersequence, msdynce_suffixlength
FROM msdynce_p2cautonumber WHERE msdynce_entityname = :entity

-- name: batch_stats
SELECT count(*), max(n), max(length(new)) FROM p2c_work_batch

-- name: journal_batch
INSERT INTO p2c_journal (run_id, step, tbl, record_id, col, old_value, new_value)
SELECT :run_id, :step, :tbl, CAST(b.id AS TEXT), :colname, b.old, b.new FROM p2c_work_batch b

-- name: apply_batch
UPDATE {table} SET {col} = b.new
FROM p2c_work_batch b
WHERE {table}.{pk} = b.id AND {table}.{col} IS b.old

-- name: advance_sequence
UPDATE msdynce_p2cautonumber SET msdynce_numbersequence = :next
WHERE msdynce_entityname = :entity AND msdynce_numbersequence = :start

-- name: journal_sequence
-- The sequence's move, journaled after the batch's numbers (undo rewinds it when they are freed).
INSERT INTO p2c_journal (run_id, step, tbl, record_id, col, old_value, new_value)
VALUES (:run_id, :step, 'msdynce_p2cautonumber', :entity, 'msdynce_numbersequence', :old, :new)
