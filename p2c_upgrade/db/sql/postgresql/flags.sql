-- The two contact flags, one primary-key range of contacts at a time ({range}).
-- Each write is guarded: only rows whose value changes are written, so a second run writes
-- nothing, and PostgreSQL creates no new row versions for unchanged contacts.

-- name: active_customers
-- Is Active Customer = Yes for every contact that is the customer of a quote, order or invoice,
-- in any state. Never turns a true into false.
UPDATE contact c SET msdynce_isactivecustomer = true
WHERE {range}
  AND c.msdynce_isactivecustomer = false
  AND (EXISTS (SELECT 1 FROM quote d WHERE d.customerid = c.contactid AND d.customeridtype = 'contact')
    OR EXISTS (SELECT 1 FROM salesorder d WHERE d.customerid = c.contactid AND d.customeridtype = 'contact')
    OR EXISTS (SELECT 1 FROM invoice d WHERE d.customerid = c.contactid AND d.customeridtype = 'contact'))

-- name: active_customers_journaled
WITH changed AS (
    UPDATE contact c SET msdynce_isactivecustomer = true
    WHERE {range}
      AND c.msdynce_isactivecustomer = false
      AND (EXISTS (SELECT 1 FROM quote d WHERE d.customerid = c.contactid AND d.customeridtype = 'contact')
        OR EXISTS (SELECT 1 FROM salesorder d WHERE d.customerid = c.contactid AND d.customeridtype = 'contact')
        OR EXISTS (SELECT 1 FROM invoice d WHERE d.customerid = c.contactid AND d.customeridtype = 'contact'))
    RETURNING c.contactid
)
INSERT INTO p2c_journal (run_id, step, tbl, record_id, col, old_value, new_value)
SELECT :run_id, :step, 'contact', CAST(contactid AS text), 'msdynce_isactivecustomer', 'false', 'true'
FROM changed

-- name: company_is_account
-- IsCompanyAnAccount = the contact's company (parent) is an account.
UPDATE contact c
SET msdynce_iscompanyanaccount = (c.parentcustomerid IS NOT NULL AND coalesce(c.parentcustomeridtype, '') = 'account')
WHERE {range}
  AND c.msdynce_iscompanyanaccount IS DISTINCT FROM
      (c.parentcustomerid IS NOT NULL AND coalesce(c.parentcustomeridtype, '') = 'account')

-- name: company_is_account_journaled
WITH changed AS (
    UPDATE contact c
    SET msdynce_iscompanyanaccount = (c.parentcustomerid IS NOT NULL AND coalesce(c.parentcustomeridtype, '') = 'account')
    WHERE {range}
      AND c.msdynce_iscompanyanaccount IS DISTINCT FROM
          (c.parentcustomerid IS NOT NULL AND coalesce(c.parentcustomeridtype, '') = 'account')
    RETURNING c.contactid, c.msdynce_iscompanyanaccount AS new
)
INSERT INTO p2c_journal (run_id, step, tbl, record_id, col, old_value, new_value)
SELECT :run_id, :step, 'contact', CAST(contactid AS text), 'msdynce_iscompanyanaccount',
       CASE WHEN new THEN 'false' ELSE 'true' END, CASE WHEN new THEN 'true' ELSE 'false' END
FROM changed

-- name: verify_active_customers
SELECT count(*) FROM contact c
WHERE c.msdynce_isactivecustomer = false
  AND (EXISTS (SELECT 1 FROM quote d WHERE d.customerid = c.contactid AND d.customeridtype = 'contact')
    OR EXISTS (SELECT 1 FROM salesorder d WHERE d.customerid = c.contactid AND d.customeridtype = 'contact')
    OR EXISTS (SELECT 1 FROM invoice d WHERE d.customerid = c.contactid AND d.customeridtype = 'contact'))

-- name: verify_company_is_account
SELECT count(*) FROM contact c
WHERE c.msdynce_iscompanyanaccount IS DISTINCT FROM
      (c.parentcustomerid IS NOT NULL AND coalesce(c.parentcustomeridtype, '') = 'account')
