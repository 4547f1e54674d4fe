"""Severities, source locations and findings: what a rule reports."""

from __future__ import annotations

import enum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field


class Severity(enum.IntEnum):
    """How bad a finding is; the gate fails an item at or above ``--e2e-fail-on``."""

    INFO = 10
    WARNING = 20
    ERROR = 30

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, value: str) -> Severity:
        """Read ``error``/``warning``/``info`` (any case); raise ``ValueError`` otherwise."""
        try:
            return cls[value.strip().upper()]
        except KeyError:
            raise ValueError(value) from None


class Location(BaseModel):
    """Where a fact was read: a file (relative to the run folder) and, when known, a line."""

    model_config = ConfigDict(frozen=True)

    file: str
    """Path of the file, relative to the run folder (POSIX separators)."""
    line: Annotated[int, Field(ge=1)] | None = None
    """1-based line number, when the format has lines."""
    key: str | None = None
    """Dotted key inside a structured file (``trae.returncode``), when the fact is a field."""

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{where} ({self.key})" if self.key else where


class Finding(BaseModel):
    """One rule violation found in one record."""

    model_config = ConfigDict(frozen=True)

    code: str
    """Stable rule code, e.g. ``E2E003``."""
    rule: str
    """Kebab-case rule name, e.g. ``success-nonzero-exit``."""
    severity: Severity
    """Severity after any configured override."""
    message: str
    """Single-line description: what is wrong, where, and the offending value."""
    evidence: tuple[Location, ...] = ()
    """Locations backing the message, most important first."""

    def headline(self) -> str:
        return f"{self.code} {self.rule}: {self.message}"
