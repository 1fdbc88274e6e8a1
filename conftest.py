"""Repo-level pytest wiring only. The conformance plugin itself comes from the package's pytest11
entry point, so it behaves the same here as in an installed copy."""
