// The bench's "plain Node service" way: what a team would write without this host. Two
// processes (node:cluster), node:http with a keep-alive agent to the vendor, JSON.parse, the
// Jira connector's mapping (issues with ADF descriptions to Markdown, projects), JSON.stringify
// in the host's envelope. No tenants, no sealed credentials, no egress policy, no sandbox.
//
// Usage: node jira-service.mjs VENDOR_ORIGIN PORT
//   GET /issues?limit=N    -> the vendor's /rest/api/3/search/jql, as the host's item page
//   GET /projects?limit=N  -> the vendor's /rest/api/3/project/search, as a container page
// The bench checks that both answers' entries equal the host's before it measures.

import cluster from "node:cluster";
import http from "node:http";

const [origin, port] = process.argv.slice(2);
if (!origin || !port) {
  console.error("usage: node jira-service.mjs VENDOR_ORIGIN PORT");
  process.exit(2);
}
const vendor = new URL(origin);
const WORKERS = 2;

if (cluster.isPrimary) {
  let listening = 0;
  for (let n = 0; n < WORKERS; n++) {
    cluster.fork().on("listening", () => {
      listening += 1;
      if (listening === WORKERS) console.log(`listening on 127.0.0.1:${port}`);
    });
  }
  // The bench kills the primary; the workers follow it.
  cluster.on("exit", () => process.exit(1));
} else {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const FIELDS =
    "summary,status,issuetype,priority,created,updated,reporter,assignee,description,project";
  let requestId = 0;

  const fetchJson = (path) =>
    new Promise((resolve, reject) => {
      const request = http.get(
        { host: vendor.hostname, port: vendor.port, path, agent },
        (response) => {
          const chunks = [];
          response.on("data", (chunk) => chunks.push(chunk));
          response.on("end", () => {
            if (response.statusCode !== 200) {
              reject(new Error(`vendor answered ${response.statusCode}`));
              return;
            }
            try {
              resolve(JSON.parse(Buffer.concat(chunks).toString("utf8")));
            } catch (error) {
              reject(error);
            }
          });
          response.on("error", reject);
        },
      );
      request.on("error", reject);
    });

  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url, "http://localhost");
    const limit = Math.min(Number(url.searchParams.get("limit") ?? 50) || 50, 100);
    try {
      let data;
      if (url.pathname === "/issues") {
        const jql = 'project = "OPS" ORDER BY updated DESC';
        const page = await fetchJson(
          `/rest/api/3/search/jql?jql=${encodeURIComponent(jql)}&maxResults=${limit}&fields=${FIELDS}`,
        );
        data = {
          entries: (page.issues ?? []).map(item),
          next_cursor: page.nextPageToken ?? null,
        };
      } else if (url.pathname === "/projects") {
        const page = await fetchJson(`/rest/api/3/project/search?startAt=0&maxResults=${limit}`);
        data = {
          entries: (page.values ?? []).map(container),
          next_cursor: page.isLast ? null : String(limit),
        };
      } else {
        res.writeHead(404, { "content-type": "application/json" });
        res.end('{"ok":false,"error":{"code":"NOT_FOUND"}}');
        return;
      }
      requestId += 1;
      const body = JSON.stringify({ ok: true, data, request_id: `node-${process.pid}-${requestId}` });
      res.writeHead(200, { "content-type": "application/json" });
      res.end(body);
    } catch (error) {
      res.writeHead(502, { "content-type": "application/json" });
      res.end(JSON.stringify({ ok: false, error: { code: "VENDOR_ERROR", message: String(error) } }));
    }
  });
  server.keepAliveTimeout = 60_000;
  server.listen(Number(port), "127.0.0.1");
}

// ---- The Jira connector's mapping (plugins/jira/src/mapping.rs), value for value. ----

const text = (value) => (typeof value === "string" ? value : undefined);
const object = (value) =>
  value !== null && typeof value === "object" && !Array.isArray(value) ? value : undefined;
const list = (value) => (Array.isArray(value) ? value : []);

function toRfc3339(value) {
  // Jira's `+0000` offset as RFC 3339's `+00:00`.
  return /[+-]\d{4}$/.test(value) ? `${value.slice(0, -2)}:${value.slice(-2)}` : value;
}

function principal(user) {
  const u = object(user);
  const id = u && text(u.accountId);
  if (id === undefined) return null;
  return { id, display_name: text(u.displayName) ?? null, email: text(u.emailAddress) ?? null };
}

function attributes(pairs) {
  const out = {};
  for (const [name, value] of pairs.filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    out[name] = value;
  }
  return out;
}

function item(issue) {
  const key = text(issue.key) ?? "";
  const fields = object(issue.fields);
  const name = (value) => text(object(value)?.name);
  const project = text(object(fields?.project)?.key) ?? key.split("-")[0];
  let body = null;
  let bodyFormat = "plain";
  const description = fields?.description;
  if (typeof description === "string") {
    body = description;
    bodyFormat = "markdown";
  } else if (object(description)) {
    body = adfToMarkdown(description);
    bodyFormat = "markdown";
  }
  return {
    id: key,
    container_id: project,
    kind: "issue",
    title: text(fields?.summary) ?? "",
    body,
    body_format: bodyFormat,
    url: `${origin}/browse/${key}`,
    author: fields ? principal(fields.reporter) : null,
    created_at: fields && text(fields.created) !== undefined ? toRfc3339(fields.created) : null,
    updated_at: fields && text(fields.updated) !== undefined ? toRfc3339(fields.updated) : null,
    attributes: attributes([
      ["id", text(issue.id)],
      ["status", name(fields?.status)],
      ["issuetype", name(fields?.issuetype)],
      ["priority", name(fields?.priority)],
      ["assignee", text(object(fields?.assignee)?.displayName)],
    ]),
  };
}

function container(project) {
  const key = text(project.key) ?? "";
  const description = text(project.description);
  return {
    id: key,
    parent_id: null,
    kind: "project",
    name: text(project.name) ?? "",
    description: description ? description : null,
    url: `${origin}/browse/${key}`,
    attributes: attributes([
      ["id", text(project.id)],
      ["project_type", text(project.projectTypeKey)],
    ]),
  };
}

// ---- ADF to Markdown (plugins/atlassian/src/adf.rs). ----

function adfToMarkdown(doc) {
  const out = [];
  blocks(list(doc.content), out, "");
  return out.join("").trimEnd();
}

function blocks(content, out, indent) {
  for (const node of content) block(object(node) ?? {}, out, indent);
}

const attr = (node, name) => text(object(node.attrs)?.[name]);

function block(node, out, indent) {
  const kind = text(node.type) ?? "";
  switch (kind) {
    case "paragraph":
      out.push(indent, inlineText(node), "\n\n");
      break;
    case "heading": {
      const level = Number.isInteger(object(node.attrs)?.level) ? node.attrs.level : 1;
      out.push(indent, "#".repeat(Math.min(Math.max(level, 1), 6)), " ", inlineText(node), "\n\n");
      break;
    }
    case "bulletList":
    case "orderedList": {
      list(node.content).forEach((entry, n) => {
        const inner = [];
        blocks(list(object(entry)?.content), inner, "");
        const lines = inner.join("").trimEnd().split("\n");
        if (lines[0] !== "" || lines.length > 1) {
          out.push(indent, kind === "orderedList" ? `${n + 1}. ` : "- ", lines[0], "\n");
        }
        for (const line of lines.slice(1).filter((l) => l !== "")) out.push(indent, "  ", line, "\n");
      });
      out.push("\n");
      break;
    }
    case "codeBlock":
      out.push(indent, "```", attr(node, "language") ?? "", "\n", plain(node), "\n", indent, "```\n\n");
      break;
    case "blockquote": {
      const inner = [];
      blocks(list(node.content), inner, "");
      for (const line of inner.join("").trimEnd().split("\n")) out.push(indent, "> ", line, "\n");
      out.push("\n");
      break;
    }
    case "rule":
      out.push(indent, "---\n\n");
      break;
    case "panel":
      blocks(list(node.content), out, indent);
      break;
    case "table":
      for (const row of list(node.content)) {
        const cells = list(object(row)?.content).map((cell) => plain(object(cell) ?? {}).replaceAll("\n", " "));
        out.push(indent, "| ", cells.join(" | "), " |\n");
      }
      out.push("\n");
      break;
    case "mediaSingle":
    case "mediaGroup":
      out.push(indent, "[attachment]\n\n");
      break;
    default: {
      const inline = inlineText(node);
      if (inline !== "") out.push(indent, inline, "\n\n");
    }
  }
}

function inlineText(node) {
  let out = "";
  for (const child of list(node.content).map((c) => object(c) ?? {})) {
    switch (text(child.type) ?? "") {
      case "text":
        out += marked(list(child.marks), text(child.text) ?? "");
        break;
      case "hardBreak":
        out += "\n";
        break;
      case "mention":
        out += attr(child, "text") ?? "@someone";
        break;
      case "emoji":
        out += attr(child, "shortName") ?? "";
        break;
      case "inlineCard":
        out += attr(child, "url") ?? "";
        break;
      case "date":
        out += attr(child, "timestamp") ?? "";
        break;
      case "status":
        out += `[${attr(child, "text") ?? ""}]`;
        break;
      default:
        out += inlineText(child);
    }
  }
  return out;
}

// Each mark wraps what the marks before it made, so the last mark is the outermost.
function marked(marks, value) {
  let out = value;
  for (const mark of marks.map((m) => object(m) ?? {})) {
    const href = attr(mark, "href");
    switch (text(mark.type) ?? "") {
      case "strong":
        out = `**${out}**`;
        break;
      case "em":
        out = `_${out}_`;
        break;
      case "code":
        out = `\`${out}\``;
        break;
      case "strike":
        out = `~~${out}~~`;
        break;
      case "link":
        if (href !== undefined) out = `[${out}](${href})`;
        break;
    }
  }
  return out;
}

function plain(node) {
  if (text(node.text) !== undefined) return node.text;
  const separator = text(node.type) === "tableRow" ? " " : "";
  return list(node.content).map((c) => plain(object(c) ?? {})).join(separator);
}
