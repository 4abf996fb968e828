"""A policy guard for MCP servers: hide, deny, confirm and rate-limit tools before their handlers run, and audit
every decision. It knows nothing about the server it guards beyond a `Catalog` the host builds."""

from guard.catalog import Catalog, ResourceInfo, ToolInfo
from guard.engine import Decision, Engine, PolicyError
from guard.middleware import Guard
from guard.policy import Identity, Policy, identity_for_token

__all__ = [
    "Catalog",
    "Decision",
    "Engine",
    "Guard",
    "Identity",
    "Policy",
    "PolicyError",
    "ResourceInfo",
    "ToolInfo",
    "identity_for_token",
]
