-- Blank and the two key equalities of p2c_upgrade/rules/keys.py, as expressions over {value}
-- (a quoted column). The character lists are bind parameters generated from that module
-- (rules.keys.sql_params): :blank, :fno_from/:fno_to, :dataverse_from/:dataverse_to. Pure-ASCII
-- values (almost all) take the cheap path, lower() in the "C" collation, which maps exactly
-- A-Z to a-z as both tables do; translate() then does not depend on the server's locale.

-- name: is_blank
({value} IS NULL OR btrim({value}, CAST(:blank AS text)) = '')

-- name: dataverse_key
-- Case- and accent-insensitive, trailing blanks ignored (the Dataverse alternate key).
nullif(CASE WHEN octet_length({value}) = char_length({value})
            THEN lower(rtrim({value}, CAST(:blank AS text)) COLLATE "C")
            ELSE translate(rtrim({value}, CAST(:blank AS text)),
                           CAST(:dataverse_from AS text), CAST(:dataverse_to AS text)) END, '')

-- name: fno_key
-- Case-insensitive, accent-sensitive, trailing blanks ignored (F&O's key).
nullif(CASE WHEN octet_length({value}) = char_length({value})
            THEN lower(rtrim({value}, CAST(:blank AS text)) COLLATE "C")
            ELSE translate(rtrim({value}, CAST(:blank AS text)),
                           CAST(:fno_from AS text), CAST(:fno_to AS text)) END, '')
