// Bool query parameters read as Kubernetes' parameter codec reads them (url.Values → ListOptions,
// DeleteOptions, PodLogOptions, PodExecOptions …), for the apiserver and the kubelet alike: false only
// when the value is "0" or "false" in any case, true for anything else (so the Python client's
// `watch=True` and even a bare `watch=` are true).

/** A bool parameter; undefined when absent. */
export function queryBool(q: URLSearchParams, name: string): boolean | undefined {
  const v = q.get(name);
  if (v === null) return undefined;
  return !(v === '0' || v.toLowerCase() === 'false');
}
