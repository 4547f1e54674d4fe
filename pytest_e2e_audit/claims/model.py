"""The claims file: what a report says was applied, validated with pydantic.

A malformed claims file is a ``pytest.UsageError`` naming the file, the line and the field.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Annotated, Any

import pytest
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from .._text import clean
from ..scanning.signatures import SIGNATURE_KINDS
from .config import DocPath, Document, DocumentError, read_document

_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_MAGIC_RE = re.compile(r"[*?[]")
ROOT_FIX = "set --e2e-claims-root to widen it"
"""How to let config globs reach further, for the end of a message."""


def _known_kind(kind: str) -> str:
    if kind not in SIGNATURE_KINDS:
        raise ValueError(f"unknown signature kind {kind!r}; known: {', '.join(SIGNATURE_KINDS)}")
    return kind


def _naive(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is not None:
        raise ValueError(
            "give a date or a date-time without a time zone (run dates are pipeline-local)"
        )
    return value


def split_glob(pattern: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``pattern``'s parts before its first wildcard part, and the parts from it on.

    Empty and ``.`` parts are dropped (``./config//a.yaml`` is ``config/a.yaml``), as glob does.
    """
    parts = [part for part in pattern.split("/") if part not in ("", ".")]
    first = next((i for i, part in enumerate(parts) if _MAGIC_RE.search(part)), len(parts))
    return tuple(parts[:first]), tuple(parts[first:])


def glob_start(pattern: str, base: Path, root: Path) -> Path:
    """The folder (or file) ``pattern``'s literal parts lead to from ``base``, ``..`` applied
    lexically; ``ValueError`` when the glob could match anything outside ``root``.

    ``base`` and ``root`` are absolute and resolved (no symbolic links).
    """
    shown = repr(pattern)
    stay = f"globs must stay inside {root} ({ROOT_FIX})"
    if PurePosixPath(pattern).is_absolute() or PureWindowsPath(pattern).is_absolute():
        raise ValueError(f"{shown} is absolute; {stay}")
    prefix, rest = split_glob(pattern)
    if ".." in rest:
        raise ValueError(f"{shown} has '..' after a wildcard, which may climb anywhere; {stay}")
    start = Path(os.path.normpath(base.joinpath(*prefix)))
    if not start.is_relative_to(root):
        raise ValueError(f"{shown} climbs out of the claims root to {start}; {stay}")
    return start


def _glob(pattern: str, info: ValidationInfo) -> str:
    if not pattern.strip():
        raise ValueError("a config glob is empty")
    context = info.context
    if isinstance(context, dict) and "base" in context and "root" in context:
        glob_start(pattern, context["base"], context["root"])
    return pattern


SignatureKind = Annotated[str, AfterValidator(_known_kind)]


class Claim(BaseModel):
    """One claim a report makes: settings applied to a config, and what they should stop."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    """Stable id (letters, digits, ``.``, ``_``, ``-``); the item is ``e2e-claims::<id>``."""
    text: Annotated[str, Field(min_length=1)]
    """The claim as the report words it."""
    source: str | None = None
    """Where the claim was made, e.g. ``archive/logs/PIPELINE_STATUS_REPORT.txt:46`` (shown,
    not parsed)."""
    since: Annotated[datetime | None, AfterValidator(_naive)] = None
    """Runs started on or after this date (or date-time) must honour the claim; without it,
    every run must."""
    config: tuple[Annotated[str, AfterValidator(_glob)], ...] = ()
    """Globs of the config files that must hold ``settings``, relative to the claims file's
    folder; they match nothing outside the claims root (that folder by default)."""
    settings: dict[str, Any] = Field(default_factory=dict)
    """Dotted path -> claimed value; ``*`` in a path matches any key or list index."""
    stops: tuple[SignatureKind, ...] = ()
    """API-error signature kinds that runs since ``since`` should no longer show."""

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not _ID_RE.match(value):
            raise ValueError(
                f"{value!r} is not a usable id: use letters, digits, '.', '_' or '-' "
                "(it is part of the node id)"
            )
        return value

    @field_validator("since", mode="before")
    @classmethod
    def _since(cls, value: Any) -> Any:
        if isinstance(value, date) and not isinstance(value, datetime):
            return datetime(value.year, value.month, value.day)
        return value

    @field_validator("config", "stops", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("settings")
    @classmethod
    def _paths(cls, value: dict[str, Any]) -> dict[str, Any]:
        for path in value:
            if any(not part for part in path.split(".")):
                raise ValueError(f"setting path {path!r} has an empty part")
        return value

    @model_validator(mode="after")
    def _config_with_settings(self) -> Claim:
        if self.settings and not self.config:
            raise ValueError("settings need config: the globs of the files that must hold them")
        if self.config and not self.settings:
            raise ValueError("config names files but there are no settings to check in them")
        return self

    def since_text(self) -> str | None:
        if self.since is None:
            return None
        if self.since.time() == datetime.min.time():
            return self.since.date().isoformat()
        return self.since.isoformat(sep=" ")

    def reference(self) -> str:
        """``claim "<text>" (<source>)``, for the end of a message."""
        source = f" ({clean(self.source, 120)})" if self.source else ""
        return f'claim "{clean(self.text, 120)}"{source}'


class ClaimsFile(BaseModel):
    """The whole claims file."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    claims: Annotated[list[Claim], Field(min_length=1)]
    """The claims, checked in file order."""


@dataclass(frozen=True)
class ClaimSet:
    """A validated claims file and where each claim sits in it."""

    path: Path
    """The claims file (absolute)."""
    claims: tuple[Claim, ...]
    lines: dict[str, int]
    """Claim id -> line of the claim in the file."""
    root: Path
    """Folder no ``config`` glob may match outside (``--e2e-claims-root``, else ``base``);
    absolute and resolved."""

    @property
    def base(self) -> Path:
        """Folder the ``config`` globs are relative to."""
        return self.path.parent


def load_claims(path: Path, where: str = "--e2e-claims", root: Path | None = None) -> ClaimSet:
    """Read and validate a claims file (YAML, or JSON/TOML by suffix) or raise ``UsageError``.

    A ``config`` glob that is absolute or climbs out of ``root`` (default: the claims file's
    folder) is refused like any other malformed field.
    """
    base = path.parent.resolve()
    root = base if root is None else root.resolve()
    try:
        doc = read_document(path)
    except DocumentError as exc:
        raise pytest.UsageError(f"{where}: {path} {exc.problem}") from None
    try:
        parsed = ClaimsFile.model_validate(doc.value, context={"base": base, "root": root})
    except ValidationError as exc:
        problems = [_problem(path, doc, dict(err)) for err in exc.errors(include_url=False)]
        raise pytest.UsageError(f"{where}: " + "\n".join(problems)) from None
    lines: dict[str, int] = {}
    for index, claim in enumerate(parsed.claims):
        line = doc.line(("claims", index)) or 1
        if claim.id in lines:
            at = doc.line(("claims", index, "id")) or line
            raise pytest.UsageError(
                f"{where}: {path}:{at}: claims[{index}].id: {claim.id!r} is used twice "
                f"(first at line {lines[claim.id]}); ids must be unique"
            )
        lines[claim.id] = line
    return ClaimSet(path, tuple(parsed.claims), lines, root)


def _problem(path: Path, doc: Document, err: dict[str, Any]) -> str:
    loc: DocPath = tuple(err["loc"])
    line = doc.line(loc) or 1
    field = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")
    message = str(err["msg"]).removeprefix("Value error, ")
    value = err.get("input")
    if err["type"] != "value_error" and isinstance(value, (str, int, float, bool)):
        message += f" (got {clean(repr(value), 60)})"
    return f"{path}:{line}: {field or 'the file'}: {message}"
