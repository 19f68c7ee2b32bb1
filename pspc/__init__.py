"""pspc: a policy-as-code compiler for Kubernetes pod security."""

__version__ = "0.1.0"
