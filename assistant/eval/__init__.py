"""Question sets, conversations and collections -> answer-quality figures (`assistant eval`)."""
