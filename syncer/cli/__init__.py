"""The `syncer` command: one module per command group, exit codes, output."""
