"""Validating targets: one check model rendered to Rego and to CEL.

Each intent of a policy becomes one or more checks (pspc.validation.requirements): a predicate
over the pod, written once in the small expression language of pspc.validation.expr. The
renderers (rego.py, cel.py) translate any such predicate, so no intent is written twice.
"""
