"""pytest plugin: options, collection of the YAML matrix, reports."""
