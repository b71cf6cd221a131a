"use strict";
// The dashboard test stack: a real taskhubd with --http-listen (started by the JS
// interop suite's helper, tests/interop/js/helpers/server.js), a real
// @microsoft/durabletask-js worker and client, and Debian's chromium driven by
// puppeteer-core. Every console error and page error of the browser is recorded;
// the tests assert there were none (see `assertNoBrowserErrors`).

const assert = require("node:assert/strict");
const crypto = require("node:crypto");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const puppeteer = require("puppeteer-core");
const { TaskHubGrpcClient, TaskHubGrpcWorker } = require("@microsoft/durabletask-js");
const { startServer, REPO_ROOT } = require("../interop/js/helpers/server");

const ARTIFACTS = process.env.TASKHUB_ARTIFACTS_DIR ||
  path.join(REPO_ROOT, "build", "test-artifacts", "dashboard");

function chromiumPath() {
  const candidates = [process.env.CHROMIUM, "/usr/bin/chromium", "/usr/bin/chromium-browser"];
  const found = candidates.find((c) => c && fs.existsSync(c));
  if (!found) throw new Error("chromium not found: apt-get install chromium (tools/install-deps.sh --test) or set CHROMIUM");
  return found;
}

/** A logger for the SDK that keeps its warnings and errors for failure reports. */
class QuietLogger {
  constructor() { this.lines = []; }
  _rec(level, m, a) { if (level !== "debug" && level !== "info") this.lines.push(`[${level}] ${m} ${a.join(" ")}`); }
  error(m, ...a) { this._rec("error", m, a); }
  warn(m, ...a) { this._rec("warn", m, a); }
  info(m, ...a) { this._rec("info", m, a); }
  debug(m, ...a) { this._rec("debug", m, a); }
}

function uid(prefix) {
  return `${prefix}-${Date.now().toString(36)}-${crypto.randomBytes(3).toString("hex")}`;
}

/** taskhubd with the HTTP server on a kernel-chosen port; resolves to {server, httpBase}. */
async function startTaskhubd(extraArgs = []) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "taskhub-dashboard-"));
  const portFile = path.join(dir, "http.port");
  const server = await startServer({
    extraArgs: ["--http-listen", "127.0.0.1:0", "--http-port-file", portFile, ...extraArgs],
  });
  const port = await readHttpPort(server, portFile);
  fs.rmSync(dir, { recursive: true, force: true });
  return { server, httpBase: `http://127.0.0.1:${port}/` };
}

async function readHttpPort(server, file) {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    try {
      const text = fs.readFileSync(file, "utf8");
      if (text.endsWith("\n")) return Number.parseInt(text.trim(), 10);
    } catch {
      // not yet written
    }
    if (!server.running) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  server.dumpLog("no HTTP port file");
  throw new Error(`taskhubd wrote no ${file}`);
}

async function startWorker(address, register) {
  const worker = new TaskHubGrpcWorker({ hostAddress: address, logger: new QuietLogger(),
    shutdownTimeoutMs: 5_000 });
  register(worker);
  await worker.start();
  return worker;
}

async function stopWorker(worker) {
  let timer;
  await Promise.race([worker.stop(), new Promise((r) => { timer = setTimeout(r, 20_000); })]);
  clearTimeout(timer);
}

function makeClient(address) {
  return new TaskHubGrpcClient({ hostAddress: address, logger: new QuietLogger() });
}

/**
 * Launches chromium and opens a page that records console errors, page errors and
 * failed requests into `errors`. `allowStatus(response)` may accept an HTTP error
 * status the API returns on purpose (Chrome logs every non-2xx fetch as a console
 * error "Failed to load resource"): it is called for each such response.
 */
async function openBrowser({ allowStatus = () => false } = {}) {
  const browser = await puppeteer.launch({
    executablePath: chromiumPath(),
    headless: true,
    // Root in CI containers: chromium's sandbox needs user namespaces it may not have.
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
      "--disable-extensions", "--disable-background-networking", "--lang=en-US"],
    defaultViewport: { width: 1280, height: 860, deviceScaleFactor: 1 },
  });
  const page = await browser.newPage();
  const errors = [];
  const allowed = []; // "Failed to load resource" lines explained by an allowed response
  page.on("console", (msg) => {
    if (msg.type() !== "error") return;
    const loc = msg.location();
    errors.push({ kind: "console", text: msg.text(), url: loc && loc.url });
  });
  page.on("pageerror", (err) => errors.push({ kind: "pageerror", text: String(err && err.stack || err) }));
  page.on("requestfailed", (req) => {
    const why = req.failure() && req.failure().errorText;
    if (why !== "net::ERR_ABORTED") errors.push({ kind: "requestfailed", text: `${req.url()} ${why}` });
  });
  page.on("response", async (res) => {
    if (res.status() < 400) return;
    if (await allowStatus(res)) allowed.push(res.url());
    else errors.push({ kind: "http", text: `${res.status()} ${res.request().method()} ${res.url()}` });
  });
  return { browser, page, errors, allowed };
}

/**
 * No page error, no failed request, no unexpected HTTP error, and no console error
 * except one "Failed to load resource" per allowed response.
 */
function assertNoBrowserErrors({ errors, allowed }) {
  let budget = allowed.length;
  const real = errors.filter((e) => {
    if (e.kind === "console" && /^Failed to load resource: the server responded with a status of/.test(e.text) &&
        budget > 0) {
      budget--;
      return false;
    }
    return true;
  });
  assert.deepEqual(real, [], `browser errors:\n${real.map((e) => `${e.kind}: ${e.text}`).join("\n")}`);
}

async function screenshot(page, name) {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

module.exports = { ARTIFACTS, REPO_ROOT, uid, startTaskhubd, startWorker, stopWorker, makeClient,
  openBrowser, assertNoBrowserErrors, screenshot };
