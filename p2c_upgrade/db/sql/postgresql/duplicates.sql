-- Values that collide as F&O compares keys: case-insensitive, accent-insensitive, trailing
-- spaces ignored (SQL_Latin1_General_CP1_CI_AS); NULL and blank values are excluded.
-- The fold is translate() through one fixed character table (p2c_upgrade/folding.py), so the
-- result does not depend on the server's locale; pure-ASCII values (almost all) take the cheap
-- path, lower() in the "C" collation, which maps exactly A-Z to a-z as the table does.

-- name: count_groups
SELECT count(*) FROM (
    SELECT 1
    FROM {table}
    WHERE {col} IS NOT NULL AND btrim({col}, CAST(:ws AS text)) <> ''
    GROUP BY rtrim(CASE WHEN octet_length({col}) = char_length({col}) THEN lower({col} COLLATE "C")
                ELSE translate({col}, CAST(:fold_from AS text), CAST(:fold_to AS text)) END, ' ')
    HAVING count(*) > 1
) g

-- name: members
-- Every record of every colliding group, the oldest (which keeps its number) first.
WITH keyed AS (
    SELECT {pk} AS id, {col} AS number, createdon,
           rtrim(CASE WHEN octet_length({col}) = char_length({col}) THEN lower({col} COLLATE "C")
                ELSE translate({col}, CAST(:fold_from AS text), CAST(:fold_to AS text)) END, ' ') AS fk
    FROM {table}
    WHERE {col} IS NOT NULL AND btrim({col}, CAST(:ws AS text)) <> ''
), colliding AS (
    SELECT fk FROM keyed GROUP BY fk HAVING count(*) > 1
)
SELECT k.fk, CAST(k.id AS text) AS id, k.number, k.createdon
FROM keyed k JOIN colliding c ON c.fk = k.fk
ORDER BY k.fk, k.createdon ASC NULLS LAST, k.id
