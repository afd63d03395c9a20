-- Number assignment for account.accountnumber and contact.msdynce_contactnumber.
-- {table}, {pk}, {col} are the job's table, primary key and number column; {is_blank} and
-- {dataverse_key} are keys.sql's expressions over t.{col} (rules/keys.py).
-- Numbers: PREFIX-NNNNN-SUFFIX, NNNNN the sequence number padded to at least five digits
-- (lpad would truncate past 99999), SUFFIX from md5(salt || key) mapped into A-Z0-9.

-- name: pending
-- Records without a number (NULL or blank), oldest first; undated records last.
SELECT row_number() OVER (ORDER BY t.createdon ASC NULLS LAST, t.{pk}) AS k,
       t.{pk} AS id, t.{col} AS old
FROM {table} t
WHERE {is_blank}

-- name: duplicates
-- Records that must give up their number: every member of a colliding group (the duplicate
-- gate's key, {dataverse_key} of keys.sql: case- and accent-insensitive, trailing blanks
-- ignored) but the oldest.
SELECT row_number() OVER (ORDER BY r.createdon ASC NULLS LAST, r.id) AS k, r.id, r.old
FROM (
    SELECT id, old, createdon,
           row_number() OVER (PARTITION BY fk ORDER BY createdon ASC NULLS LAST, id) AS rank,
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
-- compared as the duplicate gate compares, {dataverse_key}): a generated number never repeats
-- one of them.
SELECT DISTINCT CAST(m AS bigint) AS r
FROM (
    SELECT substring({dataverse_key} FROM CAST(:seq_pattern AS text)) AS m
    FROM {table} t
    -- The key maps one character to one and keeps leading ones: such a value has '-' right
    -- after the prefix.
    WHERE substr(t.{col}, char_length(CAST(:prefix AS text)) + 1, 1) = '-'
) s
WHERE m IS NOT NULL

-- name: assign
-- The numbers for queue entries lo < k <= hi: the j-th of them (j = k - lo) gets the j-th free
-- sequence number from :start (free: not reserved). Whether each record still holds the value
-- it was queued with is checked when the batch is applied (apply_batch is guarded and counted:
-- a record changed under the run makes the whole batch roll back).
WITH b AS MATERIALIZED (
    SELECT q.id, q.old, q.k - :lo AS j
    FROM p2c_work_queue q
    WHERE q.k > :lo AND q.k <= :hi
), f AS MATERIALIZED (
    SELECT r - :start - (row_number() OVER (ORDER BY r) - 1) AS f
    FROM p2c_work_reserved
    WHERE r >= :start
), n AS MATERIALIZED (
    SELECT b.id, b.old, b.j, :start + b.j - 1 + (SELECT count(*) FROM f WHERE f.f < b.j) AS n,
           decode(md5(CAST(:salt AS text) || CAST(b.id AS text)), 'hex') AS h
    FROM b
)
SELECT n.id, n.old, n.n,
       CAST(:prefix AS text) || '-'
       || CASE WHEN n.n < 100000 THEN lpad(CAST(n.n AS text), 5, '0') ELSE CAST(n.n AS text) END
       || '-'
       || left(
            substr(:alphabet, get_byte(n.h, 0) % 36 + 1, 1) || substr(:alphabet, get_byte(n.h, 1) % 36 + 1, 1)
         || substr(:alphabet, get_byte(n.h, 2) % 36 + 1, 1) || substr(:alphabet, get_byte(n.h, 3) % 36 + 1, 1)
         || substr(:alphabet, get_byte(n.h, 4) % 36 + 1, 1) || substr(:alphabet, get_byte(n.h, 5) % 36 + 1, 1)
         || substr(:alphabet, get_byte(n.h, 6) % 36 + 1, 1) || substr(:alphabet, get_byte(n.h, 7) % 36 + 1, 1)
         || substr(:alphabet, get_byte(n.h, 8) % 36 + 1, 1) || substr(:alphabet, get_byte(n.h, 9) % 36 + 1, 1)
         || substr(:alphabet, get_byte(n.h, 10) % 36 + 1, 1) || substr(:alphabet, get_byte(n.h, 11) % 36 + 1, 1)
         || substr(:alphabet, get_byte(n.h, 12) % 36 + 1, 1) || substr(:alphabet, get_byte(n.h, 13) % 36 + 1, 1)
         || substr(:alphabet, get_byte(n.h, 14) % 36 + 1, 1) || substr(:alphabet, get_byte(n.h, 15) % 36 + 1, 1),
          :suffix_length) AS new
FROM n

-- name: make_queue
CREATE TEMPORARY TABLE p2c_work_queue AS {select}

-- name: index_queue
CREATE UNIQUE INDEX p2c_work_queue_k ON p2c_work_queue (k)

-- name: analyze_queue
ANALYZE p2c_work_queue

-- name: make_reserved
CREATE TEMPORARY TABLE p2c_work_reserved AS {select}

-- name: make_batch
CREATE TEMPORARY TABLE p2c_work_batch AS {select}

-- name: drop_batch
DROP TABLE IF EXISTS p2c_work_batch

-- name: drop_work
DROP TABLE IF EXISTS p2c_work_queue, p2c_work_reserved, p2c_work_batch

-- name: queue_size
SELECT count(*) FROM p2c_work_queue

-- name: lock_sequence
SELECT msdynce_prefix, msdynce_numbersequence, msdynce_suffixlength
FROM msdynce_p2cautonumber WHERE msdynce_entityname = :entity
FOR UPDATE

-- name: batch_stats
SELECT count(*), max(n), max(length(new)) FROM p2c_work_batch

-- name: journal_batch
INSERT INTO p2c_journal (run_id, step, tbl, record_id, col, old_value, new_value)
SELECT :run_id, :step, :tbl, CAST(b.id AS text), :colname, b.old, b.new FROM p2c_work_batch b

-- name: apply_batch
UPDATE {table} t SET {col} = b.new
FROM p2c_work_batch b
WHERE t.{pk} = b.id AND t.{col} IS NOT DISTINCT FROM b.old

-- name: advance_sequence
UPDATE msdynce_p2cautonumber SET msdynce_numbersequence = :next
WHERE msdynce_entityname = :entity AND msdynce_numbersequence = :start

-- name: journal_sequence
-- The sequence's move, journaled after the batch's numbers (undo rewinds it when they are freed).
INSERT INTO p2c_journal (run_id, step, tbl, record_id, col, old_value, new_value)
VALUES (:run_id, :step, 'msdynce_p2cautonumber', :entity, 'msdynce_numbersequence', :old, :new)
