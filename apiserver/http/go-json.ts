// JSON as kube-apiserver's encoder (Go's encoding/json) writes it: `<`, `>`, `&`, U+2028 and U+2029
// escaped (they only occur inside strings) and a trailing newline; or, for `pretty`, indented by two
// spaces without one. Clients that compare error bodies byte for byte see the same bytes.
const GO_ESCAPES: Record<string, string> = { '<': '\\u003c', '>': '\\u003e', '&': '\\u0026', '\u2028': '\\u2028', '\u2029': '\\u2029' };

export function goJson(body: unknown, pretty = false): string {
  const text = pretty ? JSON.stringify(body, null, 2) : JSON.stringify(body) + '\n';
  return text.replace(/[<>&\u2028\u2029]/g, (c) => GO_ESCAPES[c]);
}
