-- Who keeps a key the sync writes (p2c_upgrade/sync/keys.py): derived from the Sales data at
-- every sync, never from what an earlier sync recorded.

-- name: key_candidates
-- One task's records that have a key: those its template selects ({selected} over t, from
-- p2c_upgrade/sync/selection.py), the key as F&O compares it ({fno_key} of keys.sql over the
-- key column), and each record's place among the task's records with that key: oldest first
-- (createdon, then primary key). {task} and {task_rank} are bind parameters.
SELECT {task} AS task, {task_rank} AS task_rank, CAST(s.id AS text) AS source_id, s.key_fold,
       row_number() OVER (PARTITION BY s.key_fold ORDER BY s.createdon ASC NULLS LAST, s.id) AS task_place
FROM (
    SELECT t.{id} AS id, t.createdon, {fno_key} AS key_fold
    FROM {source} t
    WHERE {selected} AND NOT {is_blank}
) s

-- name: clear_key_owners
DELETE FROM p2c_sync_key_owner WHERE target_id = :target_id

-- name: key_owners
-- Keys that more than one record of the entity's tasks ({candidates}: key_candidates of each
-- task, UNION ALL) has, each with the record that keeps it: the first task in dependency order
-- (an account before a contact), then the oldest record.
INSERT INTO p2c_sync_key_owner (target_id, entity, key_fold, task, source_id)
SELECT CAST(:target_id AS text), CAST(:entity AS text), o.key_fold, o.task, o.source_id
FROM (
    SELECT c.key_fold, c.task, c.source_id,
           row_number() OVER (PARTITION BY c.key_fold ORDER BY c.task_rank, c.task_place) AS place,
           count(*) OVER (PARTITION BY c.key_fold) AS holders
    FROM ({candidates}) c
) o
WHERE o.holders > 1 AND o.place = 1

-- name: state_changes_since_analyze
-- Rows of the sync state changed since its last ANALYZE (sync/state.py, Statistics.before_task);
-- NULL when the server has no statistics for it yet.
SELECT n_mod_since_analyze FROM pg_stat_user_tables WHERE relid = to_regclass(:name)
