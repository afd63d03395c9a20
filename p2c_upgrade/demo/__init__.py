"""`p2c-upgrade demo` (`run`) and the realistic sample-data generator (`generator`)."""
