"use strict";
// Starts and stops a real taskhubd process for the interop tests.
//
// Each call to startServer() gets its own temp dir (data dir, port file,
// captured stderr/stdout) and an ephemeral port chosen by the server itself
// (--listen 127.0.0.1:0 + --port-file).  stop() sends SIGTERM and requires a
// clean exit (code 0); it falls back to SIGKILL after 10 s and reports that
// as a failure.
//
// TASKHUB_STORE=azure: every server runs with --store azure on its own task hub,
// named from its data dir (a restart on the same dataDir reopens the same hub),
// in the storage account of $TASKHUB_AZURE_STORAGE_CONNECTION_STRING, or else of
// one Azurite started for this test process ($TASKHUB_AZURITE, default
// build/azurite/node_modules/.bin/azurite; ports chosen by the kernel, data in a
// temp dir; killed when the process exits). The connection string goes to taskhubd
// through its environment, never its command line.

const { spawn } = require("node:child_process");
const crypto = require("node:crypto");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");

const REPO_ROOT = path.resolve(__dirname, "..", "..", "..", "..");
const DEFAULT_BINARY = path.join(REPO_ROOT, "build", "bin", "taskhubd");
const START_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 10_000;

function binaryPath() {
  return process.env.TASKHUBD || DEFAULT_BINARY;
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function readTail(file, maxLines = 60) {
  try {
    const lines = fs.readFileSync(file, "utf8").split("\n");
    return lines.slice(-maxLines).join("\n");
  } catch (e) {
    return `<could not read ${file}: ${e.message}>`;
  }
}

const AZURITE_ACCOUNT = "devstoreaccount1";
// Azurite's well-known development key (public, documented by Microsoft).
const AZURITE_KEY =
  "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
const HUB_SALT = crypto.randomBytes(8).toString("hex");
let azurite = null; // the promise of this process's Azurite's connection string

function azureStore() {
  return process.env.TASKHUB_STORE === "azure";
}

/** The task hub of a data dir: stable within this process, unique across processes. */
function taskHubFor(dataDir) {
  const digest = crypto.createHash("sha256").update(`${HUB_SALT}:${path.resolve(dataDir)}`);
  return `t${digest.digest("hex").slice(0, 20)}`;
}

/** Starts this process's Azurite (once) and resolves to its connection string. */
function azuriteConnectionString() {
  azurite ??= startAzurite();
  return azurite;
}

async function startAzurite() {
  const bin = process.env.TASKHUB_AZURITE ||
    path.join(REPO_ROOT, "build", "azurite", "node_modules", ".bin", "azurite");
  if (!fs.existsSync(bin)) {
    throw new Error(`azurite not found at ${bin} (run tools/azurite.sh install or set TASKHUB_AZURITE)`);
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "taskhub-azurite-js-"));
  const args = ["--silent", "--disableTelemetry", "--location", path.join(dir, "location")];
  for (const s of ["blob", "queue", "table"]) args.push(`--${s}Host`, "127.0.0.1", `--${s}Port`, "0");
  const log = path.join(dir, "azurite.log");
  const logFd = fs.openSync(log, "w");
  const child = spawn(bin, args, { stdio: ["ignore", logFd, logFd] });
  fs.closeSync(logFd);
  child.unref(); // does not keep the test process alive; killed when it exits
  process.on("exit", () => {
    child.kill("SIGKILL");
    fs.rmSync(dir, { recursive: true, force: true });
  });
  let exited = null;
  child.once("exit", (code, signal) => { exited = { code, signal }; });
  const ports = {};
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Object.keys(ports).length < 3) {
    const text = fs.readFileSync(log, "utf8");
    const re = /Azurite (Blob|Queue|Table) service is successfully listening at http:\/\/[^:]+:(\d+)/g;
    for (const m of text.matchAll(re)) ports[m[1]] = Number(m[2]);
    if (Object.keys(ports).length === 3) break;
    if (exited || Date.now() > deadline) {
      throw new Error(`azurite did not start (${exited ? `exit ${exited.code}` : "timeout"}):\n${text}`);
    }
    await sleep(50);
  }
  const endpoints = ["Blob", "Queue", "Table"]
    .map((s) => `${s}Endpoint=http://127.0.0.1:${ports[s]}/${AZURITE_ACCOUNT}`).join(";");
  return `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};` +
    `AccountKey=${AZURITE_KEY};${endpoints};`;
}

class TaskHubServer {
  constructor(child, dir, dataDir, portFile, logFile, port) {
    this.child = child;
    this.dir = dir;
    this.dataDir = dataDir;
    this.portFile = portFile;
    this.logFile = logFile;
    this.port = port;
    this.address = `localhost:${port}`;
    this.exit = null; // { code, signal } once the process has exited
    this._exited = new Promise((resolve) => {
      child.once("exit", (code, signal) => {
        this.exit = { code, signal };
        resolve(this.exit);
      });
    });
  }

  /** Last lines of the server's captured stderr/stdout. */
  logTail(maxLines = 60) {
    return readTail(this.logFile, maxLines);
  }

  /** Prints the server log tail to stderr (used when a test fails). */
  dumpLog(reason) {
    process.stderr.write(
      `\n----- taskhubd log tail (${reason}; ${this.logFile}) -----\n` +
        `${this.logTail()}\n----- end of taskhubd log -----\n`,
    );
  }

  get running() {
    return this.exit === null;
  }

  /**
   * SIGTERM, wait up to 10 s, SIGKILL if needed. Throws unless the server
   * exited by itself with code 0. Removes the temp dir on success.
   */
  async stop() {
    if (this.running) {
      this.child.kill("SIGTERM");
      let timer;
      const timedOut = await Promise.race([
        this._exited.then(() => false),
        new Promise((resolve) => {
          timer = setTimeout(() => resolve(true), STOP_TIMEOUT_MS);
        }),
      ]);
      clearTimeout(timer);
      if (timedOut) {
        this.child.kill("SIGKILL");
        await this._exited;
        this.dumpLog("did not exit within 10 s of SIGTERM");
        throw new Error(`taskhubd did not exit within ${STOP_TIMEOUT_MS} ms of SIGTERM (killed)`);
      }
    }
    const { code, signal } = this.exit;
    if (code !== 0) {
      this.dumpLog(`exit code ${code}, signal ${signal}`);
      throw new Error(`taskhubd exited with code ${code} (signal ${signal}), expected 0`);
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * Starts taskhubd on an ephemeral port and resolves once it has written the
 * port file. Pass `dataDir` to reuse a store across server restarts.
 */
async function startServer({ logLevel = "warn", extraArgs = [], dataDir: sharedDataDir } = {}) {
  const bin = binaryPath();
  if (!fs.existsSync(bin)) {
    throw new Error(`taskhubd binary not found at ${bin} (set TASKHUBD or build the server first)`);
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "taskhubd-js-"));
  // A caller-supplied data dir (restart tests) is owned and removed by the caller.
  const dataDir = sharedDataDir ?? path.join(dir, "data");
  if (!sharedDataDir) fs.mkdirSync(dataDir);
  const portFile = path.join(dir, "port");
  const logFile = path.join(dir, "server.log");
  const args = [
    "--listen", "127.0.0.1:0",
    "--data-dir", dataDir,
    "--port-file", portFile,
    "--log-level", logLevel,
    ...extraArgs,
  ];
  let env = process.env;
  if (azureStore()) {
    args.push("--store", "azure", "--task-hub", taskHubFor(dataDir));
    const connectionString = process.env.TASKHUB_AZURE_STORAGE_CONNECTION_STRING ||
      await azuriteConnectionString();
    env = { ...process.env, TASKHUB_AZURE_STORAGE_CONNECTION_STRING: connectionString };
  }
  const logFd = fs.openSync(logFile, "w");
  const child = spawn(bin, args, { stdio: ["ignore", logFd, logFd], env });
  fs.closeSync(logFd);

  let exitInfo = null;
  let spawnError = null;
  child.once("exit", (code, signal) => { exitInfo = { code, signal }; });
  child.once("error", (err) => { spawnError = err; });

  const deadline = Date.now() + START_TIMEOUT_MS;
  let port = null;
  while (Date.now() < deadline) {
    if (spawnError) break;
    if (exitInfo) break;
    try {
      const text = fs.readFileSync(portFile, "utf8");
      // Only trust a complete line (the server writes "<port>\n").
      if (text.endsWith("\n")) {
        const n = Number.parseInt(text.trim(), 10);
        if (Number.isInteger(n) && n > 0 && n < 65536) {
          port = n;
          break;
        }
      }
    } catch {
      // not written yet
    }
    await sleep(50);
  }

  if (port === null) {
    const why = spawnError
      ? `spawn failed: ${spawnError.message}`
      : exitInfo
        ? `exited early with code ${exitInfo.code} (signal ${exitInfo.signal})`
        : `no port file after ${START_TIMEOUT_MS} ms`;
    if (!exitInfo && !spawnError) {
      child.kill("SIGKILL");
    }
    process.stderr.write(`\n----- taskhubd log tail (${why}) -----\n${readTail(logFile)}\n-----\n`);
    throw new Error(`taskhubd did not start: ${why}`);
  }

  const server = new TaskHubServer(child, dir, dataDir, portFile, logFile, port);
  if (exitInfo) {
    server.exit = exitInfo;
  }
  return server;
}

module.exports = { startServer, binaryPath, REPO_ROOT };
