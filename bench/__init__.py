"""The benchmark: `python -m bench` (`make bench`)."""
