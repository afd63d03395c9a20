-- The hand-written baseline: the upgrade the plain way a DBA would write it, one set-based
-- statement per step, no batches, no journal, no resume (PostgreSQL). It is the benchmark's
-- reference implementation (scripts/bench) and tests/test_baseline.py checks that it leaves the
-- Sales tables as `p2c-upgrade run` does, number values aside.
--
-- Statements are separated by `-- name: <statement>` lines (the convention of
-- p2c_upgrade/sqlfiles.py); a statement belongs to the step its name starts with (prepare,
-- account-numbers, contact-numbers, active-customers, company-is-account,
-- duplicate-account-numbers). Run them in file order, each in its own transaction (autocommit),
-- e.g. with psql -v ON_ERROR_STOP=1 -f. Unqualified names: set search_path to the Sales schema.
--
-- Simplifications a DBA would allow himself and the tool does not: the number suffix is the first
-- six hexadecimal digits of md5(id) instead of A-Z0-9 from the md5 bytes; existing values that look
-- generated are not skipped; nothing is journaled and nothing resumes.

-- name: prepare-columns
ALTER TABLE contact
    ADD COLUMN msdynce_contactnumber varchar(20),
    ADD COLUMN msdynce_isactivecustomer boolean NOT NULL DEFAULT false,
    ADD COLUMN msdynce_iscompanyanaccount boolean NOT NULL DEFAULT false;

-- name: prepare-autonumber-table
CREATE TABLE msdynce_p2cautonumber (
    msdynce_entityname     varchar(100) NOT NULL PRIMARY KEY,
    msdynce_prefix         varchar(3)   NOT NULL,
    msdynce_numbersequence integer      NOT NULL,
    msdynce_suffixlength   integer      NOT NULL
);

-- name: prepare-autonumber-rows
INSERT INTO msdynce_p2cautonumber (msdynce_entityname, msdynce_prefix, msdynce_numbersequence,
                                   msdynce_suffixlength)
VALUES ('account', 'ACC', 1000, 6), ('contact', 'CON', 1000, 6);

-- name: prepare-organization
-- The upgrade switches the organization's Prospect to cash integration on.
UPDATE organization SET issopintegrationenabled = true;

-- name: prepare-index-quote
-- The baseline gets the same indexes as the tool, so the comparison is fair: without an index on
-- each document table's customerid the EXISTS of active-customers has nothing to probe.
CREATE INDEX IF NOT EXISTS quote_customerid ON quote (customerid);

-- name: prepare-index-salesorder
CREATE INDEX IF NOT EXISTS salesorder_customerid ON salesorder (customerid);

-- name: prepare-index-invoice
CREATE INDEX IF NOT EXISTS invoice_customerid ON invoice (customerid);

-- name: account-numbers
-- Numbers oldest first (createdon, then the key); lpad alone would truncate past 99999, hence
-- greatest(5, length(n)). The sequence advances by the number of records numbered.
WITH seq AS (
    SELECT msdynce_prefix AS prefix, msdynce_numbersequence AS start
    FROM msdynce_p2cautonumber WHERE msdynce_entityname = 'account'
), todo AS (
    SELECT a.accountid, seq.prefix,
           seq.start - 1 + row_number() OVER (ORDER BY a.createdon, a.accountid) AS n
    FROM account a CROSS JOIN seq
    WHERE a.accountnumber IS NULL OR btrim(a.accountnumber) = ''
), done AS (
    UPDATE account a
    SET accountnumber = todo.prefix || '-' || lpad(todo.n::text, greatest(5, length(todo.n::text)), '0')
                        || '-' || upper(left(md5(a.accountid::text), 6))
    FROM todo
    WHERE a.accountid = todo.accountid
    RETURNING 1
), bump AS (
    UPDATE msdynce_p2cautonumber
    SET msdynce_numbersequence = msdynce_numbersequence + (SELECT count(*) FROM done)
    WHERE msdynce_entityname = 'account'
)
SELECT count(*) AS rows FROM done;

-- name: contact-numbers
WITH seq AS (
    SELECT msdynce_prefix AS prefix, msdynce_numbersequence AS start
    FROM msdynce_p2cautonumber WHERE msdynce_entityname = 'contact'
), todo AS (
    SELECT c.contactid, seq.prefix,
           seq.start - 1 + row_number() OVER (ORDER BY c.createdon, c.contactid) AS n
    FROM contact c CROSS JOIN seq
    WHERE c.msdynce_contactnumber IS NULL OR btrim(c.msdynce_contactnumber) = ''
), done AS (
    UPDATE contact c
    SET msdynce_contactnumber = todo.prefix || '-' || lpad(todo.n::text, greatest(5, length(todo.n::text)), '0')
                                || '-' || upper(left(md5(c.contactid::text), 6))
    FROM todo
    WHERE c.contactid = todo.contactid
    RETURNING 1
), bump AS (
    UPDATE msdynce_p2cautonumber
    SET msdynce_numbersequence = msdynce_numbersequence + (SELECT count(*) FROM done)
    WHERE msdynce_entityname = 'contact'
)
SELECT count(*) AS rows FROM done;

-- name: active-customers
UPDATE contact c SET msdynce_isactivecustomer = true
WHERE EXISTS (SELECT 1 FROM quote d WHERE d.customerid = c.contactid AND d.customeridtype = 'contact')
   OR EXISTS (SELECT 1 FROM salesorder d WHERE d.customerid = c.contactid AND d.customeridtype = 'contact')
   OR EXISTS (SELECT 1 FROM invoice d WHERE d.customerid = c.contactid AND d.customeridtype = 'contact');

-- name: company-is-account
UPDATE contact
SET msdynce_iscompanyanaccount = (parentcustomerid IS NOT NULL AND coalesce(parentcustomeridtype, '') = 'account');

-- name: duplicate-account-numbers
-- Colliding account numbers as F&O compares them: case- and accent-insensitive, trailing spaces
-- ignored (the translate() strings fold Latin letters to unaccented lower case).
SELECT k, count(*) AS members
FROM (
    SELECT rtrim(translate(accountnumber,
                 'ABCDEFGHIJKLMNOPQRSTUVWXYZÀÁÂÃÄÅÇÈÉÊËÌÍÎÏÑÒÓÔÕÖÙÚÛÜÝàáâãäåçèéêëìíîïñòóôõöùúûüýÿĀāĂăĄąĆćĈĉĊċČčĎďĒēĔĕĖėĘęĚěĜĝĞğĠġĢģĤĥĨĩĪīĬĭĮįİĴĵĶķĹĺĻļĽľŃńŅņŇňŌōŎŏŐőŔŕŖŗŘřŚśŜŝŞşŠšŢţŤťŨũŪūŬŭŮůŰűŲųŴŵŶŷŸŹźŻżŽžƠơƯưǍǎǏǐǑǒǓǔǕǖǗǘǙǚǛǜǞǟǠǡǦǧǨǩǪǫǬǭǰǴǵǸǹǺǻȀȁȂȃȄȅȆȇȈȉȊȋȌȍȎȏȐȑȒȓȔȕȖȗȘșȚțȞȟȦȧȨȩȪȫȬȭȮȯȰȱȲȳ',
                 'abcdefghijklmnopqrstuvwxyzaaaaaaceeeeiiiinooooouuuuyaaaaaaceeeeiiiinooooouuuuyyaaaaaaccccccccddeeeeeeeeeegggggggghhiiiiiiiiijjkkllllllnnnnnnoooooorrrrrrssssssssttttuuuuuuuuuuuuwwyyyzzzzzzoouuaaiioouuuuuuuuuuaaaaggkkoooojggnnaaaaaaeeeeiiiioooorrrruuuusstthhaaeeooooooooyy'), ' ') AS k
    FROM account
    WHERE accountnumber IS NOT NULL AND btrim(accountnumber) <> ''
) s
GROUP BY k
HAVING count(*) > 1;
