"use strict";
// The dashboard against taskhubd --auth-tokens: without a token the API answers 401
// and the page asks for one; the token typed into the header's field is kept in the
// tab's sessionStorage and sent as "Authorization: Bearer" with every API request.

const assert = require("node:assert/strict");
const crypto = require("node:crypto");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { describe, it, before, after } = require("node:test");
const h = require("../helpers");

const TOKEN = crypto.randomBytes(24).toString("hex");
const API = "runtime/webhooks/durabletask";

describe("dashboard with bearer tokens", { timeout: 60_000 }, () => {
  let stack;
  let b;
  let dir;
  const id = h.uid("dash-auth");
  const apiAuth = []; // Authorization header of each API request the page made

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "taskhub-dash-auth-"));
    const tokens = path.join(dir, "tokens");
    fs.writeFileSync(tokens, `${TOKEN} client,admin\n`, { mode: 0o600 });
    stack = await h.startTaskhubd(["--auth-tokens", tokens]);
    // An instance to see (no worker: it stays Pending), started over the HTTP API.
    const res = await fetch(`${stack.httpBase}${API}/orchestrators/DashAuth/${id}`, {
      method: "POST", headers: { Authorization: `Bearer ${TOKEN}`, "Content-Type": "application/json" },
      body: JSON.stringify({ hello: "world" }),
    });
    assert.equal(res.status, 202, await res.text());
    // Only the 401s the page gets before it has the token are expected.
    b = await h.openBrowser({ allowStatus: (r) => r.status() === 401 && !r.request().headers().authorization });
    b.page.on("request", (r) => {
      if (r.url().includes(`/${API}/`)) apiAuth.push(r.headers().authorization ?? null);
    });
  });

  after(async () => {
    if (b) await b.browser.close();
    if (stack) await stack.server.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("asks for the token, then lists with it", async () => {
    const page = b.page;
    await page.goto(`${stack.httpBase}#/instances?prefix=${encodeURIComponent(id)}`);
    await page.waitForFunction(() => !document.querySelector("#banner").hidden, { timeout: 20_000 });
    assert.match(await page.$eval("#banner", (n) => n.textContent), /token/);
    assert.deepEqual(apiAuth, [null], "the first request went without a token");

    await page.type("#token-input", TOKEN);
    await page.click("#token-form button[type=submit]");
    await page.waitForSelector(`#instances tr[data-id="${id}"]`, { timeout: 20_000 });
    assert.equal(await page.$eval("#banner", (n) => n.hidden), true, "banner gone");
    assert.equal(await page.evaluate(() => sessionStorage.getItem("taskhub.token")), TOKEN);
    assert.ok(apiAuth.slice(1).length > 0 && apiAuth.slice(1).every((a) => a === `Bearer ${TOKEN}`),
      JSON.stringify(apiAuth));

    // The instance page works with it too (the token survives navigation in the tab).
    await page.click(`#instances tr[data-id="${id}"] a`);
    await page.waitForFunction(() => document.querySelector("#status")?.textContent === "Pending",
      { timeout: 20_000 });
    await h.screenshot(page, "auth");
  });

  it("no console errors except the expected 401 before the token", () => {
    h.assertNoBrowserErrors(b);
  });
});
