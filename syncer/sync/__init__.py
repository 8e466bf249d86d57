"""One account's run: windows, the skip rule, the list → fetch → load pipeline."""
