"""The index on disk (format, checked loading, rows read on demand, BM25 files) and retrieval:
a question -> ranked paragraphs. It neither builds the index nor composes answers."""
