"""`python app.py`: the same server as `assistant serve` (chat UI at http://127.0.0.1:7860),
with its one-line errors (a port in use names ASSISTANT_PORT)."""
import sys

from assistant.cli import main

if __name__ == "__main__":
    sys.exit(main(["serve"]))
