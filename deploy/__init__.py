"""Running the assistant past one process: the local cluster (`make cluster`), the engines
it starts from the OS packages, and the compose file generated from the same settings.
Not part of the installed package: nothing here is needed to serve."""
