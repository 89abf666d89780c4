// The conformance suite's client sends no credentials, and /mcp wants a bearer token: this
// loopback proxy adds the tenant's API key to each request and forwards it unchanged
// otherwise (Host and Origin included, so the DNS-rebinding scenario reaches the host as sent).
// It listens on a free port and prints it; where to forward, and with which key, it reads from
// CONFORMANCE_TARGET_FILE ({"target": "http://127.0.0.1:PORT", "key": "..."}) on each request,
// since the host starts after it. It stops when its parent closes its stdin.
import http from "node:http";
import { readFileSync } from "node:fs";

const server = http.createServer((req, res) => {
  const { target, key } = JSON.parse(readFileSync(process.env.CONFORMANCE_TARGET_FILE, "utf8"));
  const to = new URL(target);
  const upstream = http.request(
    {
      host: to.hostname,
      port: to.port,
      path: req.url,
      method: req.method,
      headers: { ...req.headers, authorization: `Bearer ${key}` },
    },
    (answer) => {
      res.writeHead(answer.statusCode, answer.headers);
      answer.pipe(res);
    },
  );
  upstream.on("error", (error) => {
    res.writeHead(502);
    res.end(String(error));
  });
  req.pipe(upstream);
});
server.listen(0, "127.0.0.1", () => console.log(`listening ${server.address().port}`));
process.stdin.resume();
process.stdin.on("end", () => process.exit(0));
