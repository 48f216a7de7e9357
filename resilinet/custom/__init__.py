"""A distributed network of your own, declared in one file and run by every program (`network`)."""
