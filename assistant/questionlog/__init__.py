"""The question log: the stores (SQLite, PostgreSQL), the writer thread, feedback, masking,
the legacy import, and the insights drawn from it."""
