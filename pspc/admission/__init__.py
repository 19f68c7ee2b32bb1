"""A faithful simulator of the Kubernetes v1.24 PodSecurityPolicy admission plugin.

It works on plain dicts (parsed YAML/JSON objects) and reproduces upstream policy selection,
pod defaulting and the exact error text (docs/psp-admission.md).

This package is an independent oracle: the tests hold every other output of pspc to its
verdicts, so it shares no code with the compiler, the check model or the Pod Security
Standards model (only the leaf module pspc.gostrings, Go's quoting). Nothing outside
pspc.engines and the CLI imports it.
"""

from .authorizers import AllowAll, Authorizer, Grant, GrantList
from .fielderrors import FieldError
from .plugin import AdmissionResult, PodSecurityPolicyPlugin, review
from .pod import default_pod
from .provider import Provider, default_psp
from .rbac import Identity, RBACAuthorizer, service_account_identity
from .strategies import ProviderError

__all__ = [
    "AdmissionResult",
    "AllowAll",
    "Authorizer",
    "FieldError",
    "Grant",
    "GrantList",
    "Identity",
    "PodSecurityPolicyPlugin",
    "Provider",
    "ProviderError",
    "RBACAuthorizer",
    "default_pod",
    "default_psp",
    "review",
    "service_account_identity",
]
