"""The ScanSource Sales Order API: transport, tokens, rate limiter, payload and client.

Knows HTTP and JSON, nothing of the warehouse."""
