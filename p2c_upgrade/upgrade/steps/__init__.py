"""One module per upgrade step; the ordered registry is `p2c_upgrade.upgrade.registry`."""
