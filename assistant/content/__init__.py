"""The blog's text: the corpus folder, the Markdown/HTML/plain-text parsers, ingesting a feed or
saved pages, passages cut from documents and the article page built from them. No vectors."""
