"""The Assistant (load, ask), the build pipeline that writes an index, the live index a server
swaps without a restart, and the ask-and-record step every interface shares."""
