"""The long-running service and the process's resources: runtime, schedule, health, metrics."""
