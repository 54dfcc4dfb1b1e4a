"""Ranked paragraphs -> an Answer: composing and calibrating it, the conversation it follows,
citation fragments, suggested questions and rendering for each interface."""
