"""PodSecurityPolicy's defaults after PodSecurityPolicy: what each policy fills in
(pspc.mutation.defaults), which policy's defaults a pod gets (pspc.mutation.choice), and
how the mutating targets carry them (pspc.mutation.coverage). The targets themselves are
pspc/targets/map.py, gatekeeper_mutation.py and kyverno_mutation.py."""
