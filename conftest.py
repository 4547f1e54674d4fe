"""Configuration for the project's own tests (not part of the installed plugin)."""

pytest_plugins = ["pytester"]
