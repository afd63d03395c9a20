-- The two contact flags, one primary-key range of contacts at a time ({range}).
-- Each write is guarded: only rows whose value changes are written, so a second run writes
-- nothing. SQLite has no UPDATE in a CTE: the journal rows are inserted first, with the same
-- predicate, in the same transaction.

-- name: active_customers_journal
INSERT INTO p2c_journal (run_id, step, tbl, record_id, col, old_value, new_value)
SELECT :run_id, :step, 'contact', CAST(c.contactid AS TEXT), 'msdynce_isactivecustomer', 'false', 'true'
FROM contact c
WHERE {range}
  AND c.msdynce_isactivecustomer = 0
  AND (EXISTS (SELECT 1 FROM quote d WHERE d.customerid = c.contactid AND d.customeridtype = 'contact')
    OR EXISTS (SELECT 1 FROM salesorder d WHERE d.customerid = c.contactid AND d.customeridtype = 'contact')
    OR EXISTS (SELECT 1 FROM invoice d WHERE d.customerid = c.contactid AND d.customeridtype = 'contact'))

-- name: active_customers
-- Is Active Customer = Yes for every contact that is the customer of a quote, order or invoice,
-- in any state. Never turns a true into false.
UPDATE contact AS c SET msdynce_isactivecustomer = 1
WHERE {range}
  AND c.msdynce_isactivecustomer = 0
  AND (EXISTS (SELECT 1 FROM quote d WHERE d.customerid = c.contactid AND d.customeridtype = 'contact')
    OR EXISTS (SELECT 1 FROM salesorder d WHERE d.customerid = c.contactid AND d.customeridtype = 'contact')
    OR EXISTS (SELECT 1 FROM invoice d WHERE d.customerid = c.contactid AND d.customeridtype = 'contact'))

-- name: company_is_account_journal
INSERT INTO p2c_journal (run_id, step, tbl, record_id, col, old_value, new_value)
SELECT :run_id, :step, 'contact', CAST(c.contactid AS TEXT), 'msdynce_iscompanyanaccount',
       CASE WHEN c.msdynce_iscompanyanaccount THEN 'true' ELSE 'false' END,
       CASE WHEN c.msdynce_iscompanyanaccount THEN 'false' ELSE 'true' END
FROM contact c
WHERE {range}
  AND c.msdynce_iscompanyanaccount IS NOT
      (c.parentcustomerid IS NOT NULL AND coalesce(c.parentcustomeridtype, '') = 'account')

-- name: company_is_account
-- IsCompanyAnAccount = the contact's company (parent) is an account.
UPDATE contact AS c
SET msdynce_iscompanyanaccount = (c.parentcustomerid IS NOT NULL AND coalesce(c.parentcustomeridtype, '') = 'account')
WHERE {range}
  AND c.msdynce_iscompanyanaccount IS NOT
      (c.parentcustomerid IS NOT NULL AND coalesce(c.parentcustomeridtype, '') = 'account')

-- name: verify_active_customers
SELECT count(*) FROM contact c
WHERE c.msdynce_isactivecustomer = 0
  AND (EXISTS (SELECT 1 FROM quote d WHERE d.customerid = c.contactid AND d.customeridtype = 'contact')
    OR EXISTS (SELECT 1 FROM salesorder d WHERE d.customerid = c.contactid AND d.customeridtype = 'contact')
    OR EXISTS (SELECT 1 FROM invoice d WHERE d.customerid = c.contactid AND d.customeridtype = 'contact'))

-- name: verify_company_is_account
SELECT count(*) FROM contact c
WHERE c.msdynce_iscompanyanaccount IS NOT
      (c.parentcustomerid IS NOT NULL AND coalesce(c.parentcustomeridtype, '') = 'account')
