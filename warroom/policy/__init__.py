"""The runbook as code: the policy file's schema, its presets and its loader."""

from warroom.domain.errors import PolicyError
from warroom.policy.loader import list_presets, load_policy
from warroom.policy.model import Policy, Severity, UnknownSeverity

__all__ = ["Policy", "PolicyError", "Severity", "UnknownSeverity", "list_presets", "load_policy"]
