"""`pspc migrate --cluster DUMP`: the migration plan from what a cluster runs.

pspc's policy-only plan (pspc.targets.migration) knows what the policies admit; a dump of
the cluster (`kubectl get pods,rs,deploy,sts,ds,jobs,cronjobs,ns,psp,clusterroles,roles,
clusterrolebindings,rolebindings -A -o yaml`) says what actually runs. Per namespace this
package finds the strictest Pod Security Standards level every current workload passes,
beside the level the policies imply, the workloads that rely on a PodSecurityPolicy
filling fields in (and exactly which fields), what each candidate level would reject, and
the `kubectl label` commands to apply, audit and warn first.

- dump.py: reading the dump, and which workload owns each pod (ownerReferences)
- plan.py: the per-namespace analysis (PSS levels, PSP defaults, the policies' levels)
- render.py: text for people, JSON for automation (the schema is in README.md)
- command.py: what the `migrate --cluster` command runs, as a pure function
"""
