"""Working on a live Dynamics 365 Sales org (Dataverse): pull, push, verify --remote, reports."""
