-- The hand-written baseline: the upgrade the plain way a DBA would write it, one set-based
-- statement per step, no batches, no journal, no resume (SQLite 3.33 or later: UPDATE ... FROM).
-- It is the benchmark's reference implementation (scripts/bench) and tests/test_baseline.py
-- checks that it leaves the Sales tables as `p2c-upgrade run` does, number values aside.
--
-- Statements are separated by `-- name: <statement>` lines (the convention of
-- p2c_upgrade/sqlfiles.py); a statement belongs to the step its name starts with (prepare,
-- account-numbers, contact-numbers, active-customers, company-is-account,
-- duplicate-account-numbers). Run them in file order on one connection, each in its own
-- transaction (autocommit), e.g. with the sqlite3 shell.
--
-- Simplifications a DBA would allow himself and the tool does not: SQLite has no md5, so the
-- number suffix is six random hexadecimal digits; existing values that look generated are not
-- skipped; the duplicate check folds case (ASCII) and trailing spaces but not accents; nothing is
-- journaled and nothing resumes.

-- name: prepare-column-contactnumber
ALTER TABLE contact ADD COLUMN msdynce_contactnumber varchar(20);

-- name: prepare-column-isactivecustomer
ALTER TABLE contact ADD COLUMN msdynce_isactivecustomer boolean NOT NULL DEFAULT 0;

-- name: prepare-column-iscompanyanaccount
ALTER TABLE contact ADD COLUMN msdynce_iscompanyanaccount boolean NOT NULL DEFAULT 0;

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
UPDATE organization SET issopintegrationenabled = 1;

-- name: prepare-index-quote
-- The baseline gets the same indexes as the tool, so the comparison is fair: without an index on
-- each document table's customerid the EXISTS of active-customers has nothing to probe.
CREATE INDEX IF NOT EXISTS quote_customerid ON quote (customerid);

-- name: prepare-index-salesorder
CREATE INDEX IF NOT EXISTS salesorder_customerid ON salesorder (customerid);

-- name: prepare-index-invoice
CREATE INDEX IF NOT EXISTS invoice_customerid ON invoice (customerid);

-- name: account-numbers
-- Numbers oldest first (createdon, then the key); printf('%05d') pads without truncating.
UPDATE account
SET accountnumber = todo.prefix || '-' || printf('%05d', todo.n) || '-' || hex(randomblob(3))
FROM (
    SELECT a.accountid, s.msdynce_prefix AS prefix,
           s.msdynce_numbersequence - 1
             + row_number() OVER (ORDER BY a.createdon NULLS LAST, a.accountid) AS n
    FROM account a JOIN msdynce_p2cautonumber s ON s.msdynce_entityname = 'account'
    WHERE a.accountnumber IS NULL OR trim(a.accountnumber) = ''
) AS todo
WHERE account.accountid = todo.accountid;

-- name: account-numbers-sequence
-- changes(): the rows the statement just before changed (same connection).
UPDATE msdynce_p2cautonumber SET msdynce_numbersequence = msdynce_numbersequence + changes()
WHERE msdynce_entityname = 'account';

-- name: contact-numbers
UPDATE contact
SET msdynce_contactnumber = todo.prefix || '-' || printf('%05d', todo.n) || '-' || hex(randomblob(3))
FROM (
    SELECT c.contactid, s.msdynce_prefix AS prefix,
           s.msdynce_numbersequence - 1
             + row_number() OVER (ORDER BY c.createdon NULLS LAST, c.contactid) AS n
    FROM contact c JOIN msdynce_p2cautonumber s ON s.msdynce_entityname = 'contact'
    WHERE c.msdynce_contactnumber IS NULL OR trim(c.msdynce_contactnumber) = ''
) AS todo
WHERE contact.contactid = todo.contactid;

-- name: contact-numbers-sequence
UPDATE msdynce_p2cautonumber SET msdynce_numbersequence = msdynce_numbersequence + changes()
WHERE msdynce_entityname = 'contact';

-- name: active-customers
UPDATE contact SET msdynce_isactivecustomer = 1
WHERE EXISTS (SELECT 1 FROM quote d WHERE d.customerid = contact.contactid AND d.customeridtype = 'contact')
   OR EXISTS (SELECT 1 FROM salesorder d WHERE d.customerid = contact.contactid AND d.customeridtype = 'contact')
   OR EXISTS (SELECT 1 FROM invoice d WHERE d.customerid = contact.contactid AND d.customeridtype = 'contact');

-- name: company-is-account
UPDATE contact
SET msdynce_iscompanyanaccount = (parentcustomerid IS NOT NULL AND coalesce(parentcustomeridtype, '') = 'account');

-- name: duplicate-account-numbers
SELECT lower(rtrim(accountnumber, ' ')) AS k, count(*) AS members
FROM account
WHERE accountnumber IS NOT NULL AND trim(accountnumber) <> ''
GROUP BY lower(rtrim(accountnumber, ' '))
HAVING count(*) > 1;
