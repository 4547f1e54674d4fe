"""pytest-e2e-audit: audit recorded AI coding-agent benchmark runs as pytest items."""

from __future__ import annotations

from .dataset import Dataset, Group, Task
from .digest import RunDigest
from .findings import Finding, Location, Severity
from .items import E2EAuditWarning
from .layouts import Folder, Layout, LoadOptions, RunRef, Tree
from .records import (
    AgentVerdict,
    FieldIssue,
    FileIssue,
    LogFacts,
    PatchFacts,
    RunRecord,
    ScopeFacts,
    SignatureCount,
    TokenUsage,
)
from .rules import ClaimRule, DatasetRule, GroupRule, Rule, RuleContext, Violation, rule
from .scanning.signatures import SIGNATURE_KINDS, SIGNATURES, Signature

__version__ = "0.1.0.dev0"

__all__ = [
    "SIGNATURES",
    "SIGNATURE_KINDS",
    "AgentVerdict",
    "ClaimRule",
    "Dataset",
    "DatasetRule",
    "E2EAuditWarning",
    "FieldIssue",
    "FileIssue",
    "Finding",
    "Folder",
    "Group",
    "GroupRule",
    "Layout",
    "LoadOptions",
    "Location",
    "LogFacts",
    "PatchFacts",
    "Rule",
    "RuleContext",
    "RunDigest",
    "RunRecord",
    "RunRef",
    "ScopeFacts",
    "Severity",
    "Signature",
    "SignatureCount",
    "Task",
    "TokenUsage",
    "Tree",
    "Violation",
    "__version__",
    "rule",
]
