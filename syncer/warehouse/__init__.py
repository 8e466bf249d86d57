"""The PostgreSQL warehouse: schema, migrations, rows, writes, and the sync's own ledger.

Knows Postgres; may read the API's payload types, never makes an HTTP call."""
