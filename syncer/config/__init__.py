"""Settings: the configuration's sources, its validation, and the option groups built from it."""
