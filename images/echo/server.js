// kubemu/echo:1 — plain node:http, keep-alive on: answers every request with 200 and the hostname.
// Env: PORT (default 8080). Exits at once on SIGTERM/SIGINT (as PID 1, node has no default handlers).
const http = require('node:http');
const os = require('node:os');

const body = Buffer.from(`${os.hostname()}\n`);
const server = http.createServer((req, res) => {
  res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': body.length });
  res.end(body);
});
server.keepAliveTimeout = 65_000; // longer than any client idles between requests
server.headersTimeout = 66_000;
server.listen(Number(process.env.PORT ?? 8080), () => console.log(`echo: listening on :${server.address().port}`));
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
