-- Blank and the two key equalities of p2c_upgrade/rules/keys.py, as expressions over {value}
-- (a quoted column). :blank is a bind parameter generated from that module
-- (rules.keys.sql_params); p2c_dataverse_key and p2c_fno_key are that module's functions,
-- registered on every connection (p2c_upgrade/db/connection.py).

-- name: is_blank
({value} IS NULL OR trim({value}, :blank) = '')

-- name: dataverse_key
-- Case- and accent-insensitive, trailing blanks ignored (the Dataverse alternate key).
p2c_dataverse_key({value})

-- name: fno_key
-- Case-insensitive, accent-sensitive, trailing blanks ignored (F&O's key).
p2c_fno_key({value})
