"""The official Python client (Debian's python3-kubernetes) against a kubemu apiserver.

Usage: client_checks.py KUBECONFIG NAMESPACE. Each check prints one line, `ok <check>: <what it saw>`
or `FAIL <check>: <error>`; test/e2e/python-client.test.ts asserts the lines.
"""
import os
import sys
import tempfile
import threading
import time
import traceback

from kubernetes import client, config, utils, watch
from kubernetes.client.rest import ApiException
from kubernetes.dynamic import DynamicClient

config.load_kube_config(config_file=sys.argv[1])
NS = sys.argv[2]
api = client.ApiClient()
core = client.CoreV1Api(api)
apps = client.AppsV1Api(api)
batch = client.BatchV1Api(api)


def check(name):
    def run(fn):
        try:
            print(f"ok {name}: {fn()}", flush=True)
        except Exception as err:  # report and go on: the TS test names what failed
            detail = f"{err.status} {err.reason} {err.body}" if isinstance(err, ApiException) else repr(err)
            print(f"FAIL {name}: {detail}", flush=True)
            traceback.print_exc(file=sys.stderr)
        return fn
    return run


def cm(name, data=None):
    return client.V1ConfigMap(metadata=client.V1ObjectMeta(name=name), data=data or {"a": "1"})


@check("configmap crud")
def _():
    core.create_namespaced_config_map(NS, cm("py-cm"))
    names = [c.metadata.name for c in core.list_namespaced_config_map(NS).items]
    read = core.read_namespaced_config_map("py-cm", NS)
    patched = core.patch_namespaced_config_map("py-cm", NS, {"data": {"b": "2"}})
    core.delete_namespaced_config_map("py-cm", NS)
    try:
        core.read_namespaced_config_map("py-cm", NS)
        gone = "still there"
    except ApiException as e:
        gone = e.status
    return f"listed={'py-cm' in names} read={read.data} patched={sorted(patched.data.items())} after-delete={gone}"


@check("pod crud")
def _():
    pod = client.V1Pod(metadata=client.V1ObjectMeta(name="py-pod", labels={"app": "py"}),
                       spec=client.V1PodSpec(containers=[client.V1Container(name="c", image="busybox")]))
    core.create_namespaced_pod(NS, pod)
    listed = [p.metadata.name for p in core.list_namespaced_pod(NS, label_selector="app=py").items]
    read = core.read_namespaced_pod("py-pod", NS)
    patched = core.patch_namespaced_pod("py-pod", NS, {"metadata": {"labels": {"tier": "x"}}})
    core.delete_namespaced_pod("py-pod", NS, grace_period_seconds=0)
    return f"listed={listed} image={read.spec.containers[0].image} labels={sorted(patched.metadata.labels.items())}"


@check("deployment scale")
def _():
    dep = client.V1Deployment(
        metadata=client.V1ObjectMeta(name="py-dep"),
        spec=client.V1DeploymentSpec(
            replicas=1, selector=client.V1LabelSelector(match_labels={"app": "py-dep"}),
            template=client.V1PodTemplateSpec(
                metadata=client.V1ObjectMeta(labels={"app": "py-dep"}),
                spec=client.V1PodSpec(containers=[client.V1Container(name="c", image="busybox")]))))
    apps.create_namespaced_deployment(NS, dep)
    scale = apps.patch_namespaced_deployment_scale("py-dep", NS, {"spec": {"replicas": 3}})
    after = apps.read_namespaced_deployment("py-dep", NS)
    return f"scale.spec.replicas={scale.spec.replicas} deployment.spec.replicas={after.spec.replicas}"


@check("job create")
def _():
    job = client.V1Job(
        metadata=client.V1ObjectMeta(name="py-job"),
        spec=client.V1JobSpec(template=client.V1PodTemplateSpec(spec=client.V1PodSpec(
            restart_policy="Never", containers=[client.V1Container(name="c", image="busybox", command=["true"])]))))
    created = batch.create_namespaced_job(NS, job)
    read = batch.read_namespaced_job("py-job", NS)
    return f"name={created.metadata.name} backoffLimit={read.spec.backoff_limit} selector={read.spec.selector.match_labels == {'batch.kubernetes.io/controller-uid': created.metadata.uid}} template-labels={sorted(read.spec.template.metadata.labels)}"


@check("zero-value statuses")
def _():
    # The models require what Go always writes (V1ReplicationControllerStatus.replicas, the DaemonSet counters):
    # a status without them fails to deserialize with "Invalid value for `replicas`, must not be `None`".
    labels = {"app": "py-zero"}
    tpl = client.V1PodTemplateSpec(metadata=client.V1ObjectMeta(labels=labels),
                                   spec=client.V1PodSpec(containers=[client.V1Container(name="c", image="busybox")]))
    sel = client.V1LabelSelector(match_labels=labels)
    meta = client.V1ObjectMeta(name="py-zero")
    rc = core.create_namespaced_replication_controller(NS, client.V1ReplicationController(
        metadata=meta, spec=client.V1ReplicationControllerSpec(replicas=0, selector=labels, template=tpl)))
    ds = apps.create_namespaced_daemon_set(NS, client.V1DaemonSet(metadata=meta, spec=client.V1DaemonSetSpec(selector=sel, template=tpl)))
    rs = apps.create_namespaced_replica_set(NS, client.V1ReplicaSet(
        metadata=meta, spec=client.V1ReplicaSetSpec(replicas=0, selector=sel, template=tpl)))
    sts = apps.create_namespaced_stateful_set(NS, client.V1StatefulSet(
        metadata=meta, spec=client.V1StatefulSetSpec(replicas=0, selector=sel, template=tpl, service_name="py-zero")))
    listed = len(core.list_namespaced_replication_controller(NS).items) + len(apps.list_namespaced_daemon_set(NS).items)
    read = core.read_namespaced_replication_controller("py-zero", NS)
    dss = apps.read_namespaced_daemon_set("py-zero", NS).status
    for delete in (core.delete_namespaced_replication_controller, apps.delete_namespaced_daemon_set,
                   apps.delete_namespaced_replica_set, apps.delete_namespaced_stateful_set):
        delete("py-zero", NS)
    return (f"rc={rc.status.replicas},{read.status.replicas} rs={rs.status.replicas} sts={sts.status.replicas} "
            f"ds={ds.status.desired_number_scheduled},{dss.current_number_scheduled},{dss.number_misscheduled},{dss.number_ready} "
            f"listed={listed}")


@check("dynamic client")
def _():
    dyn = DynamicClient(api)
    cms = dyn.resources.get(api_version="v1", kind="ConfigMap")
    cms.create(body={"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "py-dyn"}, "data": {"k": "v"}}, namespace=NS)
    got = cms.get(name="py-dyn", namespace=NS)
    deps = dyn.resources.get(api_version="apps/v1", kind="Deployment")
    listed = [d.metadata.name for d in deps.get(namespace=NS).items]
    cms.delete(name="py-dyn", namespace=NS)
    return f"data={dict(got.data)} deployments={listed}"


@check("watch stream")
def _():
    def writer():
        time.sleep(0.5)
        core.create_namespaced_config_map(NS, cm("py-watched"))
        core.patch_namespaced_config_map("py-watched", NS, {"data": {"a": "2"}})
        core.delete_namespaced_config_map("py-watched", NS)
    threading.Thread(target=writer, daemon=True).start()
    w = watch.Watch()
    seen = []
    for ev in w.stream(core.list_namespaced_config_map, NS, timeout_seconds=15):
        if ev["object"].metadata.name == "py-watched":
            seen.append(ev["type"])
            if ev["type"] == "DELETED":
                w.stop()
    return " ".join(seen)


@check("watch resumed")
def _():
    rv = core.list_namespaced_config_map(NS).metadata.resource_version
    core.create_namespaced_config_map(NS, cm("py-resumed"))
    core.delete_namespaced_config_map("py-resumed", NS)
    w = watch.Watch()
    seen = []
    for ev in w.stream(core.list_namespaced_config_map, NS, resource_version=rv, timeout_seconds=15):
        seen.append(f"{ev['type']}:{ev['object'].metadata.name}")
        if ev["type"] == "DELETED":
            w.stop()
    return " ".join(seen)


@check("watch 410")
def _():
    # Secrets have no watch yet, so an old resourceVersion is served from etcd, which compacts it.
    sec = core.create_namespaced_secret(NS, client.V1Secret(metadata=client.V1ObjectMeta(name="py-old"), string_data={"k": "v"}))
    old = sec.metadata.resource_version
    for i in range(3):
        core.patch_namespaced_secret("py-old", NS, {"metadata": {"labels": {"n": str(i)}}})
    time.sleep(float(os.environ.get("COMPACTION_WAIT_S", "2")))
    try:
        for ev in watch.Watch().stream(core.list_namespaced_secret, NS, resource_version=old, timeout_seconds=5):
            return f"no error, got {ev['type']}"
        return "no error, no events"
    except ApiException as e:
        return f"{e.status} {e.reason.split(':')[0]}"


@check("create_from_yaml")
def _():
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
        f.write("""apiVersion: v1
kind: ConfigMap
metadata:
  name: py-yaml-cm
data:
  x: "1"
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: py-yaml-dep
spec:
  replicas: 2
  selector:
    matchLabels: {app: py-yaml}
  template:
    metadata:
      labels: {app: py-yaml}
    spec:
      containers:
      - name: c
        image: busybox
""")
    created = utils.create_from_yaml(api, f.name, namespace=NS)
    os.unlink(f.name)
    kinds = sorted(o.kind for group in created for o in group)
    dep = apps.read_namespaced_deployment("py-yaml-dep", NS)
    return f"kinds={kinds} replicas={dep.spec.replicas}"


@check("server-side apply")
def _():
    # python3-kubernetes 22.6's REST layer cannot encode a dict as application/apply-patch+yaml (fixed in
    # later clients), so the body goes as JSON text, which is YAML too.
    import json
    dyn = DynamicClient(api)
    cms = dyn.resources.get(api_version="v1", kind="ConfigMap")
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "py-ssa"}, "data": {"a": "1"}}
    first = cms.server_side_apply(body=json.dumps(body), name="py-ssa", namespace=NS, field_manager="py-client")
    body["data"] = {"a": "2", "b": "3"}
    second = cms.server_side_apply(body=json.dumps(body), name="py-ssa", namespace=NS, field_manager="py-client")
    # managedFields and apply conflicts are not computed by kubemu yet (issue 14's server-side apply item).
    forced = cms.server_side_apply(body=json.dumps({**body, "data": {"a": "9"}}), name="py-ssa", namespace=NS,
                                   field_manager="other", force_conflicts=True)
    return f"first={dict(first.data)} second={sorted(dict(second.data).items())} forced={dict(forced.data)}"
