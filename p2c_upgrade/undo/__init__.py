"""`undo`: put back what the journal recorded (`apply`), report it (`report`), and undo the
schema objects `prepare` created (`schema_objects`)."""
