"""The admission pipeline: feature gates and the full API-server mode
(docs/psp-admission.md#feature-gates, docs/psp-admission.md#plugin-and-full-modes)."""

from __future__ import annotations

import copy

import pytest

from pspc.admission import Identity, PodSecurityPolicyPlugin
from pspc.admission.pipeline import FeatureGates, Pipeline

from .test_golden_cases import check_golden_case, golden_cases

OPEN_SPEC = {
    "privileged": False,
    "runAsUser": {"rule": "RunAsAny"},
    "seLinux": {"rule": "RunAsAny"},
    "supplementalGroups": {"rule": "RunAsAny"},
    "fsGroup": {"rule": "RunAsAny"},
    "volumes": ["*"],
}
SECCOMP_POD = "seccomp.security.alpha.kubernetes.io/pod"
SECCOMP_APP = "container.seccomp.security.alpha.kubernetes.io/app"
MOUNT_PATH = "/var/run/secrets/kubernetes.io/serviceaccount"
TOKEN_VOLUME = "kube-api-access-kdnxj"  # derived from POD: see test_token_volume_name_is_stable
PROJECTED_DENIED = (
    'pods "p" is forbidden: PodSecurityPolicy: unable to admit pod: '
    '[spec.volumes[0]: Invalid value: "projected": projected volumes are not allowed to be used]'
)


def psp(annotations: dict | None = None, **spec) -> dict:
    metadata = {"name": "p1", "annotations": annotations or {}}
    return {"kind": "PodSecurityPolicy", "metadata": metadata, "spec": {**OPEN_SPEC, **spec}}


def pod(
    *, name: str = "p", annotations: dict | None = None, app: dict | None = None, **spec
) -> dict:
    metadata = {"name": name, "namespace": "ns1"}
    if annotations is not None:
        metadata["annotations"] = annotations
    container = {"name": "app", "image": "img", **(app or {})}
    return {"metadata": metadata, "spec": {"containers": [container], **spec}}


POD = pod()
ALICE = Identity("alice", ("system:authenticated",))


def token_volume(name: str) -> dict:
    namespace_item = {
        "path": "namespace",
        "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"},
    }
    return {
        "name": name,
        "projected": {
            "defaultMode": 420,
            "sources": [
                {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                {
                    "configMap": {
                        "name": "kube-root-ca.crt",
                        "items": [{"key": "ca.crt", "path": "ca.crt"}],
                    }
                },
                {"downwardAPI": {"items": [namespace_item]}},
            ],
        },
    }


def token_mount(name: str) -> dict:
    return {"name": name, "readOnly": True, "mountPath": MOUNT_PATH}


# --- plugin mode --------------------------------------------------------------------------


@pytest.mark.parametrize("case", golden_cases())
def test_plugin_mode_is_the_plugin(case: dict) -> None:
    through_pipeline = check_golden_case(case, Pipeline)
    assert through_pipeline == check_golden_case(case, PodSecurityPolicyPlugin)


def test_unknown_mode() -> None:
    with pytest.raises(ValueError) as error:
        Pipeline([psp()], mode="apiserver")
    assert str(error.value) == "unknown pipeline mode 'apiserver': expected 'plugin' or 'full'"


# --- feature gates ------------------------------------------------------------------------


def test_gate_defaults() -> None:
    v124 = FeatureGates(ephemeral_containers=True, csi_inline_volume=True, proc_mount_type=False)
    assert FeatureGates.v124_defaults() == v124
    assert FeatureGates.parse("") == v124
    assert Pipeline([], mode="full").gates == v124
    assert Pipeline([]).gates == FeatureGates(True, True, True)


def test_gate_parsing() -> None:
    gates = FeatureGates.parse("ProcMountType=true, EphemeralContainers = False,CSIInlineVolume=0,")
    assert gates == FeatureGates(
        ephemeral_containers=False, csi_inline_volume=False, proc_mount_type=True
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "PodSecurity=true",
            "unknown feature gate 'PodSecurity': known gates are "
            "CSIInlineVolume, EphemeralContainers, ProcMountType",
        ),
        ("ProcMountType", "malformed feature gate 'ProcMountType': expected Name=true|false"),
        (
            "ProcMountType=yes",
            "invalid value 'yes' for feature gate ProcMountType: expected true|false",
        ),
        (
            "ProcMountType=true;CSIInlineVolume=false",
            "invalid value 'true;CSIInlineVolume=false' for feature gate ProcMountType: "
            "expected true|false",
        ),
        (" ", "malformed feature gate ' ': expected Name=true|false"),
    ],
)
def test_gate_parsing_errors(text: str, message: str) -> None:
    with pytest.raises(ValueError) as error:
        FeatureGates.parse(text)
    assert str(error.value) == message


def test_proc_mount_type_off_drops_allowed_proc_mount_types() -> None:
    policy = psp(allowedProcMountTypes=["Default", "Unmasked"])
    unmasked = pod(app={"securityContext": {"procMount": "Unmasked"}}, serviceAccountName="sa")

    as_written = Pipeline([policy]).review("CREATE", unmasked)
    gated = Pipeline([policy], gates=FeatureGates.parse("ProcMountType=false")).review(
        "CREATE", unmasked
    )

    assert as_written.allowed is True
    assert gated.allowed is False
    assert gated.message == (
        'pods "p" is forbidden: PodSecurityPolicy: unable to admit pod: '
        '[spec.containers[0].securityContext.procMount: Invalid value: "Unmasked": '
        "ProcMountType is not allowed]"
    )
    assert policy["spec"]["allowedProcMountTypes"] == ["Default", "Unmasked"]  # input untouched


def test_ephemeral_containers_off_skips_their_validation_on_update() -> None:
    debug = {"name": "debug", "image": "busybox", "securityContext": {"privileged": True}}
    old = pod(
        annotations={"kubernetes.io/psp": "p1"},
        ephemeralContainers=[debug],
        serviceAccountName="sa",
    )
    new = copy.deepcopy(old)
    new["metadata"]["labels"] = {"app": "web"}

    checked = Pipeline([psp()]).review("UPDATE", new, old_pod=old)
    gated = Pipeline([psp()], gates=FeatureGates.parse("EphemeralContainers=false"))
    skipped = gated.review("UPDATE", new, old_pod=old)

    assert checked.message == (
        'pods "p" is forbidden: PodSecurityPolicy: unable to validate pod: '
        "[spec.ephemeralContainers[0].securityContext.privileged: Invalid value: true: "
        "Privileged containers are not allowed]"
    )
    assert skipped.allowed is True
    assert skipped.policy == "p1"
    assert skipped.pod["spec"]["ephemeralContainers"] == [debug]


def test_csi_inline_volume_off_skips_the_driver_check() -> None:
    policy = psp(allowedCSIDrivers=[{"name": "good.csi.io"}])
    csi_pod = pod(
        volumes=[{"name": "data", "csi": {"driver": "bad.csi.io"}}], serviceAccountName="sa"
    )

    checked = Pipeline([policy]).review("CREATE", csi_pod)
    gated = Pipeline([policy], gates=FeatureGates.parse("CSIInlineVolume=false"))
    skipped = gated.review("CREATE", csi_pod)

    assert checked.message == (
        'pods "p" is forbidden: PodSecurityPolicy: unable to admit pod: '
        '[spec.volumes[0].csi.driver: Invalid value: "bad.csi.io": '
        "Inline CSI driver is not allowed to be used]"
    )
    assert skipped.allowed is True
    assert skipped.policy == "p1"


# --- full mode ----------------------------------------------------------------------------


def test_full_mode_injects_the_token_volume_and_secret_admits_it() -> None:
    result = Pipeline([psp(volumes=["secret"])], mode="full").review("CREATE", POD)

    assert result.allowed is True
    assert result.policy == "p1"
    assert result.pod == {
        "metadata": {"name": "p", "namespace": "ns1", "annotations": {"kubernetes.io/psp": "p1"}},
        "spec": {
            "containers": [
                {"name": "app", "image": "img", "volumeMounts": [token_mount(TOKEN_VOLUME)]}
            ],
            "securityContext": {},
            "serviceAccountName": "default",
            "volumes": [token_volume(TOKEN_VOLUME)],
        },
    }
    assert result.patch == [
        {"op": "add", "path": "/metadata/annotations", "value": {"kubernetes.io/psp": "p1"}},
        {
            "op": "add",
            "path": "/spec/containers/0/volumeMounts",
            "value": [token_mount(TOKEN_VOLUME)],
        },
        {"op": "add", "path": "/spec/securityContext", "value": {}},
        {"op": "add", "path": "/spec/serviceAccountName", "value": "default"},
        {"op": "add", "path": "/spec/volumes", "value": [token_volume(TOKEN_VOLUME)]},
    ]
    assert result.audit_annotations == {
        "podsecuritypolicy.policy.k8s.io/admit-policy": "p1",
        "podsecuritypolicy.policy.k8s.io/validate-policy": "p1",
    }


@pytest.mark.parametrize("volumes", [[], ["configMap"]])
def test_full_mode_token_volume_needs_secret(volumes: list[str]) -> None:
    result = Pipeline([psp(volumes=volumes)], mode="full").review("CREATE", POD)

    assert result.allowed is False
    assert result.rejected_in == "admit"
    assert result.message == PROJECTED_DENIED
    plugin_only = Pipeline([psp(volumes=volumes)]).review("CREATE", POD, user=ALICE)
    assert plugin_only.allowed is True


def test_full_mode_mounts_in_init_containers_too() -> None:
    init = {"name": "init", "image": "img"}
    result = Pipeline([psp(volumes=["secret"])], mode="full").review(
        "CREATE", pod(initContainers=[init])
    )

    spec = result.pod["spec"]
    (volume,) = spec["volumes"]
    assert volume["name"] == "kube-api-access-spxtc"
    assert spec["initContainers"][0]["volumeMounts"] == [token_mount("kube-api-access-spxtc")]
    assert spec["containers"][0]["volumeMounts"] == [token_mount("kube-api-access-spxtc")]


def test_full_mode_without_automount() -> None:
    result = Pipeline([psp(volumes=[])], mode="full").review(
        "CREATE", pod(automountServiceAccountToken=False, serviceAccountName="web")
    )

    assert result.allowed is True
    assert result.pod["spec"] == {
        "automountServiceAccountToken": False,
        "containers": [{"name": "app", "image": "img"}],
        "securityContext": {},
        "serviceAccountName": "web",
    }


def test_full_mode_reuses_existing_token_volume_and_mounts() -> None:
    own_mount = {"name": "creds", "mountPath": MOUNT_PATH}
    request = pod(
        app={"volumeMounts": [own_mount]},
        initContainers=[{"name": "init", "image": "img"}],
        volumes=[token_volume("kube-api-access-mine"), {"name": "creds", "emptyDir": {}}],
    )

    result = Pipeline([psp()], mode="full").review("CREATE", request)

    spec = result.pod["spec"]
    assert spec["volumes"] == request["spec"]["volumes"]
    assert spec["initContainers"][0]["volumeMounts"] == [token_mount("kube-api-access-mine")]
    assert spec["containers"][0]["volumeMounts"] == [own_mount]


def test_token_volume_name_is_stable() -> None:
    first = Pipeline([psp()], mode="full").review("CREATE", copy.deepcopy(POD))
    second = Pipeline([psp()], mode="full").review("CREATE", copy.deepcopy(POD))
    other = Pipeline([psp()], mode="full").review("CREATE", pod(name="q"))

    assert first.pod["spec"]["volumes"][0]["name"] == TOKEN_VOLUME
    assert second.pod["spec"]["volumes"][0]["name"] == TOKEN_VOLUME
    assert other.pod["spec"]["volumes"][0]["name"] == "kube-api-access-zp29x"


def test_full_mode_seccomp_field_gets_the_annotation() -> None:
    policy = psp({"seccomp.security.alpha.kubernetes.io/allowedProfileNames": "runtime/default"})
    field_only = pod(securityContext={"seccompProfile": {"type": "RuntimeDefault"}})

    result = Pipeline([policy], mode="full").review("CREATE", field_only)

    assert result.allowed is True
    assert result.pod["metadata"]["annotations"] == {
        "kubernetes.io/psp": "p1",
        SECCOMP_POD: "runtime/default",
    }
    assert result.pod["spec"]["securityContext"] == {"seccompProfile": {"type": "RuntimeDefault"}}


def test_full_mode_seccomp_annotations_get_fields() -> None:
    allowed = "runtime/default,localhost/prof.json"
    policy = psp({"seccomp.security.alpha.kubernetes.io/allowedProfileNames": allowed})
    annotated = pod(annotations={SECCOMP_POD: "docker/default", SECCOMP_APP: "localhost/prof.json"})

    result = Pipeline([policy], mode="full").review("CREATE", annotated)

    assert result.allowed is True
    spec = result.pod["spec"]
    assert spec["securityContext"] == {"seccompProfile": {"type": "RuntimeDefault"}}
    assert spec["containers"][0]["securityContext"] == {
        "seccompProfile": {"type": "Localhost", "localhostProfile": "prof.json"}
    }
    assert result.pod["metadata"]["annotations"] == {
        "kubernetes.io/psp": "p1",
        SECCOMP_POD: "docker/default",
        SECCOMP_APP: "localhost/prof.json",
    }


def test_full_mode_drops_ephemeral_containers_when_their_gate_is_off() -> None:
    debug = {"name": "debug", "image": "busybox", "securityContext": {"privileged": True}}
    pipeline = Pipeline([psp()], mode="full", gates=FeatureGates.parse("EphemeralContainers=false"))

    result = pipeline.review("CREATE", pod(ephemeralContainers=[debug]))

    assert result.allowed is True
    assert "ephemeralContainers" not in result.pod["spec"]


def test_prepare_for_create_resets_proc_mount() -> None:
    # Not reachable through review(): with the gate off, Admit rejects any other procMount.
    admitted = pod(app={"securityContext": {"procMount": "Unmasked"}})
    admitted["metadata"]["annotations"] = {}

    Pipeline([], mode="full")._prepare_for_create(admitted)

    assert admitted["spec"]["containers"][0]["securityContext"] == {"procMount": "Default"}


def test_full_mode_update_only_validates() -> None:
    old = pod(annotations={"kubernetes.io/psp": "p1"}, serviceAccountName="default")
    new = copy.deepcopy(old)
    new["metadata"]["labels"] = {"app": "web"}

    result = Pipeline([psp(volumes=[])], mode="full").review("UPDATE", new, old_pod=old, user=ALICE)

    assert result.allowed is True
    assert result.policy == "p1"
    assert "volumes" not in result.pod["spec"]
    assert result.patch == [{"op": "add", "path": "/spec/securityContext", "value": {}}]
