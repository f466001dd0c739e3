"""The application layer: command line, CSV reading, demo and HTML report."""
