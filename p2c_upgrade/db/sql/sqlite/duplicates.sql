-- Values that collide as the duplicate gate compares keys: {dataverse_key} of keys.sql, the
-- Dataverse alternate key's equality (case-insensitive, accent-insensitive, trailing blanks
-- ignored; rules/keys.py), which is never less strict than F&O's. NULL and blank values
-- ({is_blank}) are excluded. Both are expressions over {col}.

-- name: count_groups
SELECT count(*) FROM (
    SELECT 1
    FROM {table}
    WHERE NOT {is_blank}
    GROUP BY {dataverse_key}
    HAVING count(*) > 1
) g

-- name: members
-- Every record of every colliding group, the oldest (which keeps its number) first.
WITH keyed AS (
    SELECT {pk} AS id, {col} AS number, createdon, {dataverse_key} AS fk
    FROM {table}
    WHERE NOT {is_blank}
), colliding AS (
    SELECT fk FROM keyed GROUP BY fk HAVING count(*) > 1
)
SELECT k.fk, CAST(k.id AS TEXT) AS id, k.number, k.createdon
FROM keyed k JOIN colliding c ON c.fk = k.fk
ORDER BY k.fk, k.createdon IS NULL, k.createdon, k.id
