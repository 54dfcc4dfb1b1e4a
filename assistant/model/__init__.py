"""The embedding model: the Embedder (ONNX Runtime when serving, the torch fallback), the
one-time ONNX export and the batching of concurrent questions. Knows nothing of passages."""
