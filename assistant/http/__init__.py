"""The server's guards, below any route: error bodies, security headers, request bodies, trusted
proxies, connection limits, rate limits and their counters, the owner's login, Gradio's routes."""
