-- Values that collide as F&O compares keys: case-insensitive, accent-insensitive, trailing
-- spaces ignored (SQL_Latin1_General_CP1_CI_AS); NULL and blank values are excluded.
-- p2c_fold() is registered by p2c-upgrade on every connection (p2c_upgrade/folding.py).

-- name: count_groups
SELECT count(*) FROM (
    SELECT 1
    FROM {table}
    WHERE {col} IS NOT NULL AND trim({col}, :ws) <> ''
    GROUP BY p2c_fold({col})
    HAVING count(*) > 1
) g

-- name: members
-- Every record of every colliding group, the oldest (which keeps its number) first.
WITH keyed AS (
    SELECT {pk} AS id, {col} AS number, createdon, p2c_fold({col}) AS fk
    FROM {table}
    WHERE {col} IS NOT NULL AND trim({col}, :ws) <> ''
), colliding AS (
    SELECT fk FROM keyed GROUP BY fk HAVING count(*) > 1
)
SELECT k.fk, CAST(k.id AS TEXT) AS id, k.number, k.createdon
FROM keyed k JOIN colliding c ON c.fk = k.fk
ORDER BY k.fk, k.createdon IS NULL, k.createdon, k.id
