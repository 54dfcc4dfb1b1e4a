"""Text as search sees it: a question cleaned of what a reader can't mean, sentence boundaries,
stemmed content terms and how telling a word is. Imports only the kernel."""
