# Hand-written reference for bench/rego_engine.py (issue 5): the checks that pspc generates
# for the stdlib `restricted` policy (pspc.validation.checks.checks), written the way an
# experienced Rego author would write them: one `deny` rule per violation, helper rules
# evaluated once per query (the pod, its spec, its containers), sets, `every`, and `else`
# for "first of" precedence. It must give the same verdict as the generated module
# (`rego_module(restricted, "conftest")`) on every corpus pod; the benchmark asserts that
# before it times anything. Not shipped, not generated: a yardstick only.
package bench.handwritten.restricted

import rego.v1

# -- the pod: a Pod, or the pod template of a workload -------------------------------------

_templates := {"Deployment", "ReplicaSet", "ReplicationController", "StatefulSet", "DaemonSet", "Job"}

pod := input if input.kind == "Pod"

pod := input.spec.template if input.kind in _templates

pod := input.spec.jobTemplate.spec.template if input.kind == "CronJob"

spec := object.get(pod, "spec", {})

pod_name := object.get(pod, ["metadata", "name"], "")

annotations := a if {
	a := pod.metadata.annotations
	is_object(a)
} else := {}

# init, regular and ephemeral containers
containers contains c if {
	some field in ["initContainers", "containers", "ephemeralContainers"]
	some c in object.get(spec, field, [])
}

# a container's security setting, else the pod's, else a default
_effective(c, field, fallback) := object.get(c, ["securityContext", field], object.get(spec, ["securityContext", field], fallback))

_container_msg(c, requirement) := sprintf("restricted: container %s must %s", [object.get(c, "name", ""), requirement])

_pod_msg(requirement) := sprintf("restricted: pod %s must %s", [pod_name, requirement])

# -- privileged, host namespaces, host ports ----------------------------------------------

deny contains _container_msg(c, "not set securityContext.privileged=true") if {
	some c in containers
	c.securityContext.privileged == true
}

deny contains _pod_msg(sprintf("not set %s=true", [field])) if {
	some field in ["hostNetwork", "hostPID", "hostIPC"]
	spec[field] == true
}

_host_port(port) if object.get(port, "hostPort", 0) != 0

# with the host network, every container port is a host port
_host_port(port) if {
	spec.hostNetwork == true
	object.get(port, "containerPort", 0) != 0
}

deny contains _container_msg(c, "use only allowed host ports (none; with hostNetwork every containerPort is a host port)") if {
	some c in containers
	some port in object.get(c, "ports", [])
	_host_port(port)
}

# -- volumes ------------------------------------------------------------------------------

_volume_sources := {
	"hostPath", "emptyDir", "gcePersistentDisk", "awsElasticBlockStore", "gitRepo", "secret",
	"nfs", "iscsi", "glusterfs", "persistentVolumeClaim", "rbd", "flexVolume", "cinder",
	"cephfs", "flocker", "downwardAPI", "fc", "azureFile", "configMap", "vsphereVolume",
	"quobyte", "azureDisk", "photonPersistentDisk", "storageos", "projected",
	"portworxVolume", "scaleIO", "csi", "ephemeral",
}

_allowed_volumes := {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret"}

# a volume without any source is an emptyDir
deny contains msg if {
	some v in object.get(spec, "volumes", [])
	types := {k | some k in _volume_sources; v[k] != null}
	count(types) > 0
	count(types & _allowed_volumes) == 0
	msg := sprintf("restricted: volume %s must be of an allowed type (configMap, csi, downwardAPI, emptyDir, ephemeral, persistentVolumeClaim, projected, secret)", [object.get(v, "name", "")])
}

# -- users and groups ---------------------------------------------------------------------

_declares_user(c) if {
	some field in ["runAsNonRoot", "runAsUser"]
	_effective(c, field, null) != null
}

_may_run_as_root(c) if not _declares_user(c)

_may_run_as_root(c) if _effective(c, "runAsNonRoot", true) == false

_may_run_as_root(c) if _effective(c, "runAsUser", 1) == 0

deny contains _container_msg(c, "set runAsNonRoot=true or a non-zero runAsUser, and neither runAsNonRoot=false nor runAsUser=0") if {
	some c in containers
	_may_run_as_root(c)
}

_in_range(x, low, high) if {
	x >= low
	x <= high
}

deny contains _pod_msg("set fsGroup within 1-65535") if {
	not _in_range(object.get(spec, ["securityContext", "fsGroup"], -1), 1, 65535)
}

_supplemental_groups := object.get(spec, ["securityContext", "supplementalGroups"], [])

_supplemental_groups_ok if {
	count(_supplemental_groups) > 0
	every gid in _supplemental_groups {
		_in_range(gid, 1, 65535)
	}
}

deny contains _pod_msg("set supplementalGroups, all within 1-65535") if not _supplemental_groups_ok

# -- beyond PSP: SELinux types from a list, runAsNonRoot set explicitly -------------------

_selinux_types := {"", "container_init_t", "container_kvm_t", "container_t"}

# `x` is the pod's spec or a container: both keep seLinuxOptions in their securityContext
_selinux_not_allowed(x) if not object.get(x, ["securityContext", "seLinuxOptions", "type"], "") in _selinux_types

_selinux_not_allowed(x) if object.get(x, ["securityContext", "seLinuxOptions", "user"], "") != ""

_selinux_not_allowed(x) if object.get(x, ["securityContext", "seLinuxOptions", "role"], "") != ""

deny contains _pod_msg("use an allowed SELinux type (container_init_t, container_kvm_t, container_t) and no SELinux user or role") if {
	_selinux_not_allowed(spec)
}

deny contains _container_msg(c, "use an allowed SELinux type (container_init_t, container_kvm_t, container_t) and no SELinux user or role") if {
	some c in containers
	_selinux_not_allowed(c)
}

_not_explicitly_non_root(c) if _effective(c, "runAsNonRoot", false) != true

_not_explicitly_non_root(c) if c.securityContext.runAsUser == 0

deny contains _container_msg(c, "set runAsNonRoot=true (on the container or the pod) and not runAsUser=0") if {
	some c in containers
	_not_explicitly_non_root(c)
}

deny contains _pod_msg("not set runAsUser=0") if spec.securityContext.runAsUser == 0

# -- privilege escalation, capabilities, proc mount, sysctls ------------------------------

deny contains _container_msg(c, "set securityContext.allowPrivilegeEscalation=false") if {
	some c in containers
	not c.securityContext.allowPrivilegeEscalation == false
}

_allowed_capabilities := set()

deny contains _container_msg(c, "add only allowed capabilities (none)") if {
	some c in containers
	some cap in object.get(c, ["securityContext", "capabilities", "add"], [])
	not cap in _allowed_capabilities
}

deny contains _container_msg(c, "drop capability ALL") if {
	some c in containers
	not "ALL" in object.get(c, ["securityContext", "capabilities", "drop"], [])
}

deny contains _container_msg(c, "use an allowed procMount (Default)") if {
	some c in containers
	object.get(c, ["securityContext", "procMount"], "Default") != "Default"
}

_safe_sysctls := {
	"kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.tcp_syncookies",
	"net.ipv4.ping_group_range", "net.ipv4.ip_unprivileged_port_start",
}

deny contains _pod_msg("use only safe or allowed sysctls, none of the denied ones") if {
	some sysctl in object.get(spec, ["securityContext", "sysctls"], [])
	not object.get(sysctl, "name", "") in _safe_sysctls
}

# -- seccomp: the annotation of the pod, else its field; a container's field, else its
# annotation, else the pod's field, else the pod's annotation --------------------------

_seccomp_annotations := {"docker/default", "runtime/default"}

_pod_seccomp_annotation := object.get(annotations, "seccomp.security.alpha.kubernetes.io/pod", "")

_pod_seccomp_ok if _pod_seccomp_annotation in _seccomp_annotations

_pod_seccomp_ok if {
	_pod_seccomp_annotation == ""
	spec.securityContext.seccompProfile.type == "RuntimeDefault"
}

deny contains _pod_msg("set an allowed seccomp profile (docker/default, runtime/default)") if not _pod_seccomp_ok

# ["field", profile] or ["annotation", value]: the profile a container runs with
_container_seccomp(c) := ["field", profile] if {
	profile := c.securityContext.seccompProfile
	profile != null
} else := ["annotation", value] if {
	value := annotations[concat("", ["container.seccomp.security.alpha.kubernetes.io/", object.get(c, "name", "")])]
	value != null
} else := ["field", profile] if {
	profile := spec.securityContext.seccompProfile
	profile != null
} else := ["annotation", _pod_seccomp_annotation]

_seccomp_allowed(["field", profile]) if profile.type == "RuntimeDefault"

_seccomp_allowed(["annotation", value]) if value in _seccomp_annotations

deny contains _container_msg(c, "run with an allowed seccomp profile (docker/default, runtime/default)") if {
	some c in containers
	not _seccomp_allowed(_container_seccomp(c))
}

# -- AppArmor: the container's annotation, else its field, else the pod's field ----------

_apparmor_field(c) := profile if {
	profile := c.securityContext.appArmorProfile
	profile != null
} else := object.get(spec, ["securityContext", "appArmorProfile"], {})

_apparmor_ok(c) if {
	annotation := object.get(annotations, concat("", ["container.apparmor.security.beta.kubernetes.io/", object.get(c, "name", "")]), "")
	_apparmor_allowed(annotation, c)
}

_apparmor_allowed("runtime/default", _) := true

_apparmor_allowed("", c) if _apparmor_field(c).type == "RuntimeDefault"

deny contains _container_msg(c, "set an allowed AppArmor profile (runtime/default)") if {
	some c in containers
	not _apparmor_ok(c)
}
