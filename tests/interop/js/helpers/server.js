"use strict";
// Starts and stops a real taskhubd process for the interop tests.
//
// Each call to startServer() gets its own temp dir (data dir, port file,
// captured stderr/stdout) and an ephemeral port chosen by the server itself
// (--listen 127.0.0.1:0 + --port-file).  stop() sends SIGTERM and requires a
// clean exit (code 0); it falls back to SIGKILL after 10 s and reports that
// as a failure.

const { spawn } = require("node:child_process");
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
  const logFd = fs.openSync(logFile, "w");
  const args = [
    "--listen", "127.0.0.1:0",
    "--data-dir", dataDir,
    "--port-file", portFile,
    "--log-level", logLevel,
    ...extraArgs,
  ];
  const child = spawn(bin, args, { stdio: ["ignore", logFd, logFd] });
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
