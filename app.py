"""`python app.py`: the same server as `assistant serve` (chat UI at http://127.0.0.1:7860)."""
from assistant.web import serve

if __name__ == "__main__":
    serve()
