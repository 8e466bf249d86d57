"""scansource-syncer: keeps a PostgreSQL warehouse in step with the ScanSource Sales Order API."""

__version__ = "0.1.0"
