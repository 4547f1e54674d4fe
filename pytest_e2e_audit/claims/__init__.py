"""Claims a report makes (``--e2e-claims=FILE``), checked against configs and recorded runs.

``model`` validates the claims file, ``config`` reads YAML/JSON/TOML with lines, ``checks``
evaluates one claim, ``runs`` loads the runs it applies to, ``rules`` holds the catalogue
entries (E2E040-E2E043) and ``items`` the pytest nodes.
"""
