"""Writes of the inspections app, by subject (every write keyword-only and atomic, with its trace
entry and event in the same transaction; illegal steps raise ApplicationError, field errors in
``extra``):

- ``checklists``  checklist versions: the version in force, publishing a new one;
- ``validation``  the phone's upload checked before anything is written (key items answered);
- ``records``     the upload written, signed, sealed, its tasks moved on, its documents rendered;
- ``sealing``     the seal (Ed25519 over the canonical record), task links, verification;
- ``taskloop``    a sealed record moves the tasks it covered on to review.

This module keeps the names other code imports (``services.inspection_sync`` …)."""
from __future__ import annotations

from .checklists import checklist_publish, current_version
from .records import inspection_sync
from .sealing import (
    SEAL_FORMAT, TASK_RECORD_KIND, Verification, inspection_seal, seal_payload, signatures_complete, verify_inspection,
)
from .taskloop import advance_tasks, task_states
from .validation import CLOCK_SKEW, MIN_OFFICERS, Coverage, FieldErrors, coverage, validate_upload

__all__ = [
    "CLOCK_SKEW", "MIN_OFFICERS", "SEAL_FORMAT", "TASK_RECORD_KIND", "Coverage", "FieldErrors", "Verification", "advance_tasks",
    "checklist_publish", "coverage", "current_version", "inspection_seal", "inspection_sync", "seal_payload",
    "signatures_complete", "task_states", "validate_upload", "verify_inspection",
]
