"""The pure-Python references every layer follows: blank and key equality (`keys`), and the
P2C number format (`number_format`). The SQL in `db/sql/` is tested against these."""
