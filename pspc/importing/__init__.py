"""`pspc import`: existing PodSecurityPolicies and their RBAC, losslessly, as pspc sources.

- reader.py: strict, located access to an object's fields (errors name document and field)
- psp.py: a PodSecurityPolicy object → an IR policy (strict types, API defaults)
- verify.py: proves the language can say that policy exactly, else errors per field
- bindings.py: RBAC objects → the bindings of each policy (wildcard grants flagged)
- idiom.py: the closest stdlib policy and the fewest statements from it
- sources.py: the whole import as a pure function, files checked by compiling them
- command.py: the `import` command (registered on the `pspc` group by pspc.cli)
"""

from pspc.importing.sources import ImportedPolicy, import_manifests

__all__ = ["ImportedPolicy", "import_manifests"]
