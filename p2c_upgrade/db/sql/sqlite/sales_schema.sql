-- The Sales tables p2c-upgrade works on, as Dataverse names them (SQLite).
-- Reference DDL for a DBA: the same tables and columns as p2c_upgrade.schema.sales_metadata()
-- (a test checks that they agree). Only the columns the tool reads or writes are listed; a real
-- Sales database has many more, which the tool leaves alone. Record ids are the canonical
-- lower-case text of the uuid in varchar(36); createdon holds 'YYYY-MM-DD HH:MM:SS.ffffff' text
-- (as SQLAlchemy stores DATETIME). The P2C columns (contact.msdynce_*) and msdynce_p2cautonumber
-- are added by the tool's `prepare` step.

CREATE TABLE account (
    accountid        varchar(36) NOT NULL PRIMARY KEY,
    name             varchar(160),
    accountnumber    varchar(20),          -- Account Number; NULL or blank until numbered
    address1_country varchar(80),
    address1_city    varchar(80),
    statecode        integer NOT NULL DEFAULT 0,  -- 0 Active, 1 Inactive
    createdon        datetime
);

CREATE TABLE contact (
    contactid            varchar(36) NOT NULL PRIMARY KEY,
    firstname            varchar(50),
    lastname             varchar(50),
    parentcustomerid     varchar(36),        -- Company Name: an account or a contact
    parentcustomeridtype varchar(16),        -- 'account' or 'contact'
    address1_country     varchar(80),
    statecode            integer NOT NULL DEFAULT 0,  -- 0 Active, 1 Inactive
    createdon            datetime
);

CREATE TABLE quote (
    quoteid        varchar(36) NOT NULL PRIMARY KEY,
    customerid     varchar(36),              -- Potential Customer: an account or a contact
    customeridtype varchar(16),              -- 'account' or 'contact'
    statecode      integer NOT NULL DEFAULT 0,  -- 0 Draft, 1 Active, 2 Won, 3 Closed
    createdon      datetime
);

CREATE TABLE salesorder (
    salesorderid   varchar(36) NOT NULL PRIMARY KEY,
    customerid     varchar(36),
    customeridtype varchar(16),
    statecode      integer NOT NULL DEFAULT 0,  -- 0 Active, 1 Submitted, 2 Canceled, 3 Fulfilled, 4 Invoiced
    createdon      datetime
);

CREATE TABLE invoice (
    invoiceid      varchar(36) NOT NULL PRIMARY KEY,
    customerid     varchar(36),
    customeridtype varchar(16),
    statecode      integer NOT NULL DEFAULT 0,  -- 0 Active, 1 Closed, 2 Paid, 3 Canceled
    createdon      datetime
);

-- Optional: the upgrade sets issopintegrationenabled when the table is there.
CREATE TABLE organization (
    organizationid          varchar(36) NOT NULL PRIMARY KEY,
    issopintegrationenabled boolean NOT NULL DEFAULT 0
);
