"""pytest-e2e-audit: audit recorded AI coding-agent benchmark runs as pytest items."""

from __future__ import annotations

from .findings import Finding, Location, Severity
from .items import E2EAuditWarning
from .layouts import Folder, Layout, LoadOptions, RunRef, Tree
from .records import (
    AgentVerdict,
    FileIssue,
    LogFacts,
    PatchFacts,
    RunRecord,
    ScopeFacts,
    SignatureCount,
    TokenUsage,
)
from .rules import Rule, RuleContext, Violation, rule
from .scanning.signatures import SIGNATURE_KINDS, SIGNATURES, Signature

__version__ = "0.1.0.dev0"

__all__ = [
    "SIGNATURES",
    "SIGNATURE_KINDS",
    "AgentVerdict",
    "E2EAuditWarning",
    "FileIssue",
    "Finding",
    "Folder",
    "Layout",
    "LoadOptions",
    "Location",
    "LogFacts",
    "PatchFacts",
    "Rule",
    "RuleContext",
    "RunRecord",
    "RunRef",
    "ScopeFacts",
    "Severity",
    "Signature",
    "SignatureCount",
    "TokenUsage",
    "Tree",
    "Violation",
    "__version__",
    "rule",
]
