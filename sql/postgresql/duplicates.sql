-- Values that collide as F&O compares keys: case-insensitive, accent-insensitive, trailing
-- spaces ignored (SQL_Latin1_General_CP1_CI_AS); NULL and blank values are excluded.
-- The fold is translate() through one fixed character table (p2c_upgrade/folding.py), so the
-- result does not depend on the server's locale.

-- name: count_groups
SELECT count(*) FROM (
    SELECT 1
    FROM {table}
    WHERE {col} IS NOT NULL AND btrim({col}, CAST(:ws AS text)) <> ''
    GROUP BY rtrim(translate({col}, CAST(:fold_from AS text), CAST(:fold_to AS text)), ' ')
    HAVING count(*) > 1
) g

-- name: members
-- Every record of every colliding group, the oldest (which keeps its number) first.
WITH keyed AS (
    SELECT {pk} AS id, {col} AS number, createdon,
           rtrim(translate({col}, CAST(:fold_from AS text), CAST(:fold_to AS text)), ' ') AS fk
    FROM {table}
    WHERE {col} IS NOT NULL AND btrim({col}, CAST(:ws AS text)) <> ''
), colliding AS (
    SELECT fk FROM keyed GROUP BY fk HAVING count(*) > 1
)
SELECT k.fk, CAST(k.id AS text) AS id, k.number, k.createdon
FROM keyed k JOIN colliding c ON c.fk = k.fk
ORDER BY k.fk, k.createdon ASC NULLS LAST, k.id
