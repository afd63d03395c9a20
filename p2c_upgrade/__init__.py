"""p2c-upgrade: the Dynamics 365 Prospect to cash upgrade, run safely on a SQL copy of Sales."""

__version__ = "0.1.0"
