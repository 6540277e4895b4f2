"""kubernetes.stream (exec, stdin, port-forward) of the official Python client against a kubemu cluster.

Usage: stream_checks.py KUBECONFIG NAMESPACE. Pods `shell` (sleep) and `web` (httpd on 8080 serving hello-pf)
run there. Each check prints `ok <check>: <what it saw>` or `FAIL <check>: <error>`; python-stream.test.ts asserts them.
"""
import sys
import traceback

from kubernetes import client, config
from kubernetes.stream import portforward, stream

config.load_kube_config(config_file=sys.argv[1])
NS = sys.argv[2]
core = client.CoreV1Api()


def check(name):
    def run(fn):
        try:
            print(f"ok {name}: {fn()}", flush=True)
        except Exception as err:  # report and go on: the TS test names what failed
            print(f"FAIL {name}: {err!r}", flush=True)
            traceback.print_exc(file=sys.stderr)
        return fn
    return run


@check("exec")
def _():
    out = stream(core.connect_get_namespaced_pod_exec, "shell", NS, command=["sh", "-c", "echo out; echo err >&2"],
                 stderr=True, stdin=False, stdout=True, tty=False)
    resp = stream(core.connect_get_namespaced_pod_exec, "shell", NS, command=["sh", "-c", "echo partial; exit 3"],
                  stderr=True, stdin=False, stdout=True, tty=False, _preload_content=False)
    resp.run_forever(timeout=30)
    return f"out={out!r} stdout={resp.read_stdout()!r} returncode={resp.returncode}"


@check("exec stdin")
def _():
    # stdin=True reaches the kubelet as true (the client sends the Python spelling, True).
    resp = stream(core.connect_get_namespaced_pod_exec, "shell", NS, command=["head", "-n", "1"],
                  stderr=True, stdin=True, stdout=True, tty=False, _preload_content=False)
    resp.write_stdin("from python\n")
    resp.run_forever(timeout=30)
    return f"stdout={resp.read_stdout()!r} returncode={resp.returncode}"


@check("port-forward")
def _():
    pf = portforward(core.connect_get_namespaced_pod_portforward, "web", NS, ports="8080")
    sock = pf.socket(8080)
    sock.setblocking(True)
    sock.sendall(b"GET /index.html HTTP/1.0\r\n\r\n")
    data = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    sock.close()
    head, _, body = data.partition(b"\r\n\r\n")
    status = head.split(b"\r\n", 1)[0].decode()
    return f"status={status!r} body={body!r} error={pf.error(8080)!r}"
