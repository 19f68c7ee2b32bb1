"""Every diagnostic code pspc emits: its severity, a short title and an explanation.

`Diagnostics.error` and `Diagnostics.warning` refuse a code that is not here, or one used
with another severity, so this table cannot drift from the code; README.md's table of
diagnostics is checked against it (tests/test_diagnostics.py). Codes by range:

- E001-E028: pspc sources (syntax, names, one policy's consistency, namespaces)
- E030-E031: Kubernetes YAML given to `pspc eval`
- E041-E045: `pspc import`
- W101-W111: pspc sources that compile but probably do not do what was meant
- W201-W205: YAML inputs that are skipped or incomplete
- W301-W311, E303: what a build's targets cannot enforce or a cluster cannot take
- E050-E054: pspc.toml (cluster profiles)
- W401-W404: what a profile's cluster does differently
"""

from __future__ import annotations

from dataclasses import dataclass

ERROR, WARNING = "error", "warning"


@dataclass(frozen=True)
class Code:
    code: str
    severity: str  # "error" or "warning", the values of pspc.diagnostics.Severity
    title: str  # one line, as in README.md's table
    explanation: str  # what it means and how to fix it


def _codes(*entries: tuple[str, str, str, str]) -> dict[str, Code]:
    table: dict[str, Code] = {}
    for code, severity, title, explanation in entries:
        assert code not in table, f"{code} registered twice"
        table[code] = Code(code, severity, title, " ".join(explanation.split()))
    return table


CODES: dict[str, Code] = _codes(
    ("E001", ERROR, "syntax error", """
        The source does not follow the pspc grammar. The caret marks the first token pspc
        could not read; the help line lists what may come there."""),
    ("E002", ERROR, "unreadable source (not UTF-8, NUL byte, too large, I/O error)", """
        The file cannot be read as text: an I/O error, a size over the limit (4 MiB for
        sources, 32 MiB for YAML), bytes that are not UTF-8, or a NUL byte. Save it as
        UTF-8 text, or split it."""),
    ("E003", ERROR, "policy defined twice", """
        Two `policy` declarations among the sources have the same name; the note points at
        the first. Rename one of them (names are global across the files compiled
        together)."""),
    ("E004", ERROR, "`extends` names an unknown policy", """
        The policy extends a name that is neither a policy of these sources nor a stdlib
        policy (privileged, baseline, restricted). Fix the name or define the policy."""),
    ("E005", ERROR, "`extends` cycle", """
        Policies extend each other in a circle, so none has a base to start from. Make one
        of them extend a stdlib policy instead."""),
    ("E006", ERROR, "invalid name (policy, namespace, runtime class, annotation key)", """
        A name that becomes part of a Kubernetes object is not valid there: policy and
        runtime class names are DNS subdomains, namespaces DNS labels, annotation keys
        qualified names (and not one an intent writes). Policy names must also not be a
        device name Windows reserves, because they name output files."""),
    ("E007", ERROR, "invalid ID or port range", """
        A user, group or port range is out of bounds or has its minimum above its maximum.
        Write `min..max` with both ends within the allowed values."""),
    ("E008", ERROR, "unknown volume type", """
        The volume type is not one PodSecurityPolicy knows (the help suggests the nearest).
        Volume types are spelled as in the pod spec, e.g. `configMap`, `hostPath`, `nfs`."""),
    ("E009", ERROR, "intent stated twice in one policy", """
        One policy states the same intent twice; the note points at the first statement.
        Keep one. To change a value inherited through `extends`, state it once in the
        extending policy."""),
    ("E010", ERROR, "volume type both allowed and denied in one policy", """
        The same policy allows and denies one volume type; the note points at the other
        statement. Keep one of the two."""),
    ("E011", ERROR, "policy does not say which users, groups or SELinux contexts", """
        A policy that extends nothing must state the user and group IDs, fs groups and
        SELinux contexts pods may use, because PodSecurityPolicy has no default for them.
        State them, or extend a stdlib policy."""),
    ("E012", ERROR, "capability both required-dropped and allowed / added by default", """
        A capability cannot be required to be dropped and also allowed or added by
        default: Kubernetes refuses such a policy. Keep one of the statements."""),
    ("E013", ERROR, "`allow capabilities any` with required drops", """
        PodSecurityPolicy refuses `*` among the allowed capabilities when capabilities are
        required to be dropped. Say `drop capabilities none`, or list the allowed
        capabilities."""),
    ("E014", ERROR, "privilege escalation allowed by default but denied", """
        The policy defaults containers to privilege escalation that it does not allow, so
        Kubernetes refuses it. Allow privilege escalation, or default to denying it."""),
    ("E016", ERROR, "invalid sysctl name or pattern, or `*` beside other sysctls", """
        Sysctls are dotted names such as net.core.somaxconn; a trailing `*` matches every
        name with that prefix, and `*` alone matches all of them (so nothing may be listed
        beside it)."""),
    ("E017", ERROR, "allowed unsafe sysctl overlaps a denied one", """
        Kubernetes refuses a policy whose allowed unsafe sysctls and forbidden sysctls
        overlap. Narrow one of the two lists."""),
    ("E018", ERROR, "invalid host path prefix (empty, or with `..`)", """
        Allowed host paths are non-empty prefixes without `..`, such as /var/log (a
        relative prefix is valid Kubernetes, and a warning: W110)."""),
    ("E019", ERROR, "invalid seccomp/AppArmor profile", """
        The profile is not written as Kubernetes expects (runtime/default, localhost/<path>,
        ...), or a PodSecurityPolicy cannot say it (forbidding every AppArmor profile).
        Fix the name."""),
    ("E020", ERROR, "runtime class listed twice or beside `*`, or default not allowed", """
        Runtime classes are listed once each, `*` stands alone, and the default runtime
        class must be among the allowed ones."""),
    ("E021", ERROR, "`bind` names an unknown policy", """
        A `bind` statement names a policy that these sources do not define. Bindings
        apply to local policies only: define one (it may extend a stdlib policy) and bind
        that."""),
    ("E022", ERROR, "invalid binding subject or scope", """
        The subject of a `bind` is not a valid user, group or service account name, or
        the binding says where it applies twice (e.g. `service accounts in namespace a in
        namespace b`)."""),
    ("E023", ERROR, "empty flex volume driver name, or a meaningless `any`", """
        A flex volume driver name is empty (Kubernetes refuses it), or `any` is used where
        it has no meaning. List the names; ALL stands for every capability. Capability
        and CSI driver names that Kubernetes does not check are warnings (W110)."""),
    ("E024", ERROR, "`if set` on user IDs (PodSecurityPolicy has no optional user range)", """
        PodSecurityPolicy can make group ranges optional (MayRunAs) but not user ranges.
        Drop `if set`, or write `run as non-root` to accept any non-root user."""),
    ("E025", ERROR, "unknown Pod Security Standards level in a `namespace` declaration", """
        The levels are privileged, baseline and restricted."""),
    ("E026", ERROR, "unknown Pod Security Standards version in a `namespace` declaration", """
        The version is one pspc knows (v1.0 up to the newest it ships with), or latest,
        which follows the cluster's version."""),
    ("E027", ERROR, "namespace declared twice, or one of its settings stated twice", """
        A namespace is declared once, stating each mode (enforce, audit, warn) and its
        version at most once; the note points at the first. Merge the declarations."""),
    ("E028", ERROR, "declared enforce level rejects pods that policies usable in the "
     "namespace admit (say `force` to enforce it anyway)", """
        The Pod Security Admission level declared for the namespace is stricter than the
        policies usable there, so PSA would reject pods those policies admit. The notes
        point at what each policy admits. Enforce the computed level, tighten the
        policies, or say `force` to enforce the level anyway."""),
    ("E030", ERROR, "invalid Kubernetes YAML input (`pspc eval`, `pspc import`)", """
        A YAML input cannot be read: a syntax error, an alias (refused: they are how
        "billion laughs" bombs work), nesting too deep, or a document that is not a
        mapping. Each document must be a Kubernetes object with apiVersion and kind."""),
    ("E031", ERROR, "an object to evaluate has no pod template, or is not a valid pod "
     "(a field of the wrong type)", """
        `pspc eval` could not build a pod from the object: a workload without a pod
        template, or a field whose value has the wrong type. Fix the object as the API
        server would require."""),
    ("E041", ERROR, "`pspc import`: no PodSecurityPolicy in the input", """
        None of the inputs holds a PodSecurityPolicy. Pass PodSecurityPolicy YAML, e.g.
        the output of kubectl get psp,clusterrole,role,clusterrolebinding,rolebinding -A
        -o yaml."""),
    ("E042", ERROR, "`pspc import`: unsupported apiVersion", """
        PodSecurityPolicy is read as policy/v1beta1 (or extensions/v1beta1), RBAC as
        rbac.authorization.k8s.io/v1 (or its v1beta1 and v1alpha1). Convert the object to
        one of these versions."""),
    ("E043", ERROR, "`pspc import`: invalid field (wrong type, unknown, missing, repeated "
     "key, unsupported value)", """
        A field of an input object is not what the API server would accept: the message
        names the document and field. Nothing is written until the input is valid."""),
    ("E044", ERROR, "`pspc import`: a valid field pspc cannot express exactly (the message "
     "says why)", """
        The field is valid Kubernetes, but the pspc language cannot state it so that it
        compiles back to the same object (for instance ranges under RunAsAny). pspc never
        drops a field silently: change the object as the help says, then import again."""),
    ("E045", ERROR, "`pspc import`: an object defined twice", """
        Two inputs define the same object (same kind, namespace and name); the note points
        at the first. Keep one of them."""),
    ("W101", WARNING, "policy bound to no one: it admits no pod", """
        A PodSecurityPolicy admits only pods whose creator or service account may `use`
        it. Add a `bind` statement, e.g. `bind <policy> to service accounts in namespace
        <ns>`."""),
    ("W102", WARNING, "policy bound only to people: controller-created pods are not "
     "admitted", """
        The pods of a Deployment, StatefulSet or Job are created by a controller's service
        account, not by the person who created the workload, so a policy bound only to
        users or groups of people does not admit them. Also bind the workloads' service
        accounts."""),
    ("W103", WARNING, "capability name with a `CAP_` prefix or in lower case", """
        Kubernetes compares capability names exactly and never adds or removes the CAP_
        prefix: write them in upper case without it, e.g. NET_ADMIN."""),
    ("W104", WARNING, "allowed host paths, flex or CSI drivers while their volume type is "
     "not allowed", """
        Allowed host paths (flex volume drivers, CSI drivers) restrict hostPath (flexVolume,
        csi) volumes, which this policy does not allow, so they have no effect. Remove
        them, or allow the volume type. A `deny volumes` in the policy that lists them
        keeps them: that is how an imported policy says so."""),
    ("W105", WARNING, "declared enforce level weaker than what the policies usable in the "
     "namespace allow", """
        Pod Security Admission could enforce a stricter level in this namespace without
        rejecting any pod its policies admit. Declare the computed level, or leave the
        level unstated so that pspc computes it."""),
    ("W106", WARNING, "`force` that forces nothing", """
        `force` lets a namespace enforce a level stricter than its policies; here there is
        no such level (none is declared, or it rejects nothing they admit). Remove
        `force`."""),
    ("W107", WARNING, "privileged allowed while privilege escalation is denied "
     "(no privileged pod can run)", """
        Kubernetes rejects a privileged container whose allowPrivilegeEscalation is false,
        so allowing privileged containers while denying escalation admits no privileged
        pod. Kubernetes accepts such a policy; also allow privilege escalation, or deny
        privileged."""),
    ("W108", WARNING, "a strategy that admits no pod, or values it ignores", """
        Kubernetes accepts these PodSecurityPolicies, but admission cannot use them or
        ignores part of them: MustRunAs (`none`) without ranges or SELinux options admits
        no pod; ranges under RunAsAny or MustRunAsNonRoot and SELinux options under
        RunAsAny have no effect; `require unmasked proc mount` rejects every container
        that does not ask for an unmasked /proc."""),
    ("W109", WARNING, "default seccomp/AppArmor profile that is not allowed", """
        The policy sets a default profile that its own allow-list rejects (or that no
        allow-list allows), so every pod relying on the default is refused. Allow the
        default, or remove it."""),
    ("W110", WARNING, "a value Kubernetes accepts but no pod can use", """
        IDs above 2147483647, host port ranges outside 0-65535 or with min above max,
        relative host path prefixes, names that are no capability or CSI driver (or `*`
        where it is no wildcard), empty or repeated profile names: valid in a
        PodSecurityPolicy, and kept, but they match no pod field as written."""),
    ("W111", WARNING, "a policy inherits a Pod Security Standards level but states what the "
     "level forbids", """
        E.g. `policy node-exporter extends restricted { allow host network }`: requiring
        both the level and the statements would reject every pod the author meant to admit.
        The policy is checked as its PodSecurityPolicy says (every intent it states or
        inherits), as a policy without a level is. Say `no pod security standard` in the
        policy to make this explicit, or drop the statements to keep the level."""),
    ("W201", WARNING, "a policy input is neither a PodSecurityPolicy nor RBAC (ignored)", """
        Policy inputs (`pspc eval` PATHS and --rbac, `pspc import`) are read for
        PodSecurityPolicies and RBAC objects; other kinds, such as a kustomization or a
        ConfigMap in a cluster dump, are skipped (`pspc import` counts them by kind in
        one line; Namespaces, Pods and workloads of a dump are expected and only
        counted)."""),
    ("W202", WARNING, "an object to evaluate is neither a Pod nor a workload (skipped)", """
        `pspc eval -f` evaluates Pods and workloads (Deployments, Jobs, ...); other objects
        in those files are skipped and named."""),
    ("W203", WARNING, "`pspc import`: RBAC that gives policies only through `*` rules "
     "(e.g. cluster-admin)", """
        A role grants `use` of PodSecurityPolicies only through wildcard rules, as
        cluster-admin does; such grants are rarely meant as bindings, so the binding is
        left out unless --include-wildcard-bindings is given."""),
    ("W204", WARNING, "`pspc import`: a binding refers to a role that is not in the "
     "input", """
        The policies such a binding grants cannot be known. Import a complete dump:
        kubectl get psp,clusterrole,role,clusterrolebinding,rolebinding -A -o yaml."""),
    ("W205", WARNING, "`pspc import`: a value normalised to an equal meaning, or metadata "
     "left out", """
        A list entry written twice is kept once, `*` beside other volume types is `*`,
        a read-only host path beside a writable one with the same prefix is the writable
        one (admission lets it win), and SELinux options under RunAsAny that are all
        empty are dropped: the rebuilt PodSecurityPolicy means the same. Labels pspc
        writes itself (app.kubernetes.io/managed-by) are left out. One line per kind of
        change and policy."""),
    ("W301", WARNING, "validating targets cannot apply the policy's PSP defaults: they "
     "reject pods that leave those fields unset", """
        PodSecurityPolicy fills in defaults (e.g. a user ID, a seccomp profile); validating
        admission (Gatekeeper, ValidatingAdmissionPolicy, Kyverno) cannot change pods, so
        it rejects pods that leave those fields unset. Set the fields in the workloads."""),
    ("W303", WARNING, "the PodSecurityPolicy cannot enforce an intent beyond PSP; other "
     "targets of the build do", """
        The policy states something PodSecurityPolicy cannot check; the other targets of
        this build enforce it, so apply their outputs too (see report.md)."""),
    ("W304", WARNING, "the PodSecurityPolicy only approximates the policy's Pod Security "
     "Standards level, and no target of the build enforces the level", """
        The policy conforms to a Pod Security Standards level, which no PodSecurityPolicy can
        express exactly: the PSP output is the closest PodSecurityPolicy (the Kubernetes
        documentation's example policies for the stdlib levels), and it admits pods the level
        rejects (e.g. SELinux users, a runAsUser of 0 under a pod-level runAsNonRoot, probe
        hosts from v1.34). Build gatekeeper, vap, kyverno or psa too to enforce the level
        exactly."""),
    ("W306", WARNING, "no policy is usable in a declared namespace: every pod there is "
     "rejected", """
        No binding is cluster-wide and none names the namespace, so neither the requester
        nor any service account may use a policy there: PodSecurityPolicy, and the
        validating outputs that apply its selection rule, reject every pod in it (members
        of system:masters excepted). Bind a policy in the namespace."""),
    ("W307", WARNING, "map: where the first usable policy with a default to apply rejects the "
     "pod anyway, PodSecurityPolicy takes a later policy's defaults; the "
     "MutatingAdmissionPolicy does not", """
        PodSecurityPolicy gives a pod the defaults of the first usable policy (by name) that
        admits the pod after filling them in. A CEL mutation cannot evaluate a policy's
        checks on the pod it is about to produce, so the MutatingAdmissionPolicy takes the
        first usable policy that admits the pod or has a default to apply; where that policy
        rejects the pod anyway, the validating outputs reject it, where PSP would have
        admitted it with a later policy's defaults. Only builds with two or more policies
        with defaults can differ; give such pods the fields, or their own namespace."""),
    ("W308", WARNING, "a Gatekeeper or Kyverno mutation target cannot follow PodSecurityPolicy's "
     "choice of policy, or fill a default in exactly as it does", """
        Gatekeeper mutators and Kyverno mutate rules match namespaces, not who sends the
        request: they match only namespaces where no other policy may be usable (W309 names
        those left out), and there also a pod whose requester and service account may not
        use the policy gets its defaults (PSP and the validating targets reject it). Defaults that
        the mechanism cannot fill in as PSP does are named (report.md lists them). Prefer
        the map target where the cluster serves MutatingAdmissionPolicy."""),
    ("W309", WARNING, "a Gatekeeper or Kyverno mutation target leaves a policy's defaults out "
     "where another policy may be usable too", """
        Gatekeeper mutators and Kyverno mutate rules match namespaces, not who may use which
        policy. Where another policy may be usable as well (bound in the same namespace, or
        cluster-wide), PodSecurityPolicy leaves alone a pod that policy admits unchanged, or
        gives it that policy's defaults: the mutators cannot tell, so they do not match there
        (fail closed). The policy's defaults are not filled in in those namespaces (all of
        them when two policies are bound cluster-wide), and the validating targets reject
        pods relying on them (W301). Bind the policy in namespaces of its own, set the fields
        in the workloads, or use the map target."""),
    ("E303", ERROR, "the PodSecurityPolicy cannot enforce an intent beyond PSP, and no "
     "target of the build does (gatekeeper, vap, kyverno, or psa where its labels cover "
     "it)", """
        The policy states something PodSecurityPolicy cannot check, and no target of this
        build enforces it, so the output would be weaker than the policy. Also build
        gatekeeper, vap or kyverno (`--target`)."""),
    ("W311", WARNING, "a policy bound cluster-wide lowers the Pod Security Admission level "
     "of namespaces whose own policies are stricter", """
        A cluster-wide binding makes the policy usable in every namespace, and PodSecurityPolicy
        admits a pod that any usable policy allows, so PSA may enforce no more than that
        policy's level there. A classic case is a privileged policy bound to a group that
        controllers belong to (system:serviceaccounts:kube-system, whose replicaset-controller
        creates every Deployment's pods). Bind the policy only in the namespaces that need
        it, unless its subjects really create pods everywhere."""),
    ("W310", WARNING, "a generated object is too large for a stock cluster to take as it "
     "is applied", """
        The cluster-wide outputs (ValidatingAdmissionPolicy, Kyverno ClusterPolicy,
        Gatekeeper constraint) hold every policy in one object. Client-side `kubectl apply`
        copies the object into an annotation, and annotations hold 256 KiB at most: apply
        it with `kubectl apply --server-side`. etcd refuses a request over 1.5 MiB unless
        its --max-request-bytes is raised."""),
    ("W305", WARNING, "the PodSecurityPolicy cannot enforce an intent beyond PSP, and no "
     "target of the profile does", """
        With cluster profiles, an intent beyond PSP that no target of one profile enforces
        is a warning for that profile (the other profiles are not affected), where a build
        without profiles fails (E303). Add gatekeeper (or psa, vap, kyverno where the
        Kubernetes version runs them) to the profile's enforce, or accept that this cluster
        does not enforce the intent."""),
    ("E050", ERROR, "pspc.toml cannot be read, or is not valid TOML", """
        The configuration file could not be read, is not UTF-8, or is not TOML; the caret
        marks where the TOML parser stopped."""),
    ("E051", ERROR, "unknown key in pspc.toml", """
        pspc.toml has one table, [profiles.NAME], and a profile has the keys kubernetes,
        enforce, ci and mode. A misspelt key is an error rather than ignored, so that a
        setting never silently has no effect."""),
    ("E052", ERROR, "invalid value in pspc.toml (version, mode, profile name, missing "
     "key)", """
        A profile must say its Kubernetes version as a string "1.N" (1.19 to 1.37; a TOML
        number 1.30 would be 1.3) and its enforce list; mode is deny, warn or audit;
        profile names are DNS labels, since they name output folders."""),
    ("E053", ERROR, "unknown target in a profile, or a target in the wrong list", """
        enforce takes psp (which brings rbac), gatekeeper, vap, kyverno and psa; ci takes
        rego, report, migration and helm."""),
    ("E054", ERROR, "a profile enforces a target its Kubernetes version cannot run", """
        PodSecurityPolicy is served up to Kubernetes 1.24; ValidatingAdmissionPolicy from
        1.28 (v1beta1, v1 from 1.30); Pod Security Admission is on by default from 1.23.
        Remove the target from the profile's enforce, or fix its kubernetes version."""),
    ("W401", WARNING, "a profile target needs more than a stock cluster of its version", """
        ValidatingAdmissionPolicy v1beta1 (1.28-1.29) is off by default and needs the
        feature gate and runtime config; Kyverno's CEL rules need Kyverno 1.11+, whose
        compatibility matrix starts at Kubernetes 1.25."""),
    ("W402", WARNING, "a namespace declares a Pod Security Standards version newer than a "
     "profile's Kubernetes", """
        A `*-version` label newer than the cluster is not understood by its Pod Security
        Admission; the profile's labels pin the cluster's own version instead."""),
    ("W403", WARNING, "Helm values cannot set the AppArmor profile a policy requires on "
     "this Kubernetes version", """
        securityContext.appArmorProfile is GA in Kubernetes 1.30; below, the profile is set
        with the annotation container.apparmor.security.beta.kubernetes.io/CONTAINER, whose
        name depends on the chart. The values file says which annotation to add to
        podAnnotations."""),
    ("W404", WARNING, "a profile in warn or audit mode enforces psp or a mutating target, "
     "which have no such mode", """
        PodSecurityPolicy always enforces, and a mutating target always changes the pods it
        matches; the profile's other targets follow its mode."""),
    ("W405", WARNING, "a profile enforces more than one mutating target", """
        map, gatekeeper-mutation and kyverno-mutation each fill in the same PodSecurityPolicy
        defaults: a cluster runs one of them (map where it serves MutatingAdmissionPolicy,
        which follows PodSecurityPolicy's choice of policy most closely)."""),
)


def lookup(code: str) -> Code | None:
    return CODES.get(code)
