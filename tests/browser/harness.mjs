// What the browser tests share: Debian's headless Chromium driven by playwright-core, the real
// `frontdesk` binary (built by `cargo test --release`) started on a free port with the sample
// knowledge base (without business hours, plus one FAQ with hostile HTML), and helpers with
// domain verbs. Every wait has a timeout. Screenshots go to target/browser/.

import { before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, cpSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

export const REPO = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const BINARY = join(process.env.CARGO_TARGET_DIR || join(REPO, "target"), "release", "frontdesk");
const CHROMIUM = process.env.FRONTDESK_CHROMIUM || "/usr/bin/chromium";
export const SHOTS = join(REPO, "target", "browser");
export const WAIT = 10_000;

export let browser;
let work;

before(async () => {
  assert.ok(existsSync(BINARY), `${BINARY} is missing: build it first (cargo build --release)`);
  assert.ok(
    existsSync(CHROMIUM),
    `${CHROMIUM} is missing: install Debian's chromium (scripts/test does) or set FRONTDESK_CHROMIUM`,
  );
  mkdirSync(SHOTS, { recursive: true });
  work = mkdtempSync(join(tmpdir(), "frontdesk-browser-"));
  // The sample knowledge base without business hours: the tests run at any time of day.
  cpSync(join(REPO, "knowledge_base"), join(work, "kb"), { recursive: true });
  rmSync(join(work, "kb", "hours.toml"));
  // An editor's answer with HTML and a javascript: link in it: it must reach the page inert.
  writeFileSync(join(work, "kb", "faq", "zebra-stickers.md"), [
    "+++", 'id = "zebra-stickers"', 'title = "Do you sell zebra stickers?"',
    'questions = ["do you sell zebra stickers", "zebra sticker for my wall", "where are the zebra stickers"]',
    "+++",
    'Not yet. <script>window.__xss = 3</script><img src=x onerror="window.__xss = 4">',
    "[See the catalogue](javascript:window.__xss=5) or [our shop](https://example.com/shop).", "",
  ].join("\n"));
  // Cy takes one chat at a time: a claim beyond it is refused.
  for (const [id, name, capacity] of [["ann", "Ann", 3], ["bob", "Bob", 3], ["cy", "Cy", 1]]) {
    execFileSync(BINARY, ["agent", "add", id, "--name", name, "--capacity", String(capacity),
      "--file", join(work, "agents.toml")], { input: `${id}-password-1\n` });
  }
  execFileSync(BINARY, ["admin", "add", "max", "--name", "Max", "--file", join(work, "agents.toml")], {
    input: "max-password-1\n",
  });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
});

after(async () => {
  await browser?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

/** A private copy of the tests' knowledge base (for a test that edits it): its path. */
export function copyKnowledgeBase() {
  const dir = mkdtempSync(join(work, "kb-"));
  cpSync(join(work, "kb"), dir, { recursive: true });
  return dir;
}

/** Starts `frontdesk serve` on a free port, on the default store (SQLite) in `data` (a new
 * folder unless given: pass a server's `data` to start it again on the same database); resolves
 * to {base, port, data, stop, stopped, killed}. */
export async function startServer(extra = [], port = 0, kb = join(work, "kb"), data = mkdtempSync(join(work, "data-"))) {
  const child = spawn(BINARY, ["serve", "--port", String(port), "--knowledge-base", kb,
    "--agents-file", join(work, "agents.toml"), "--data-dir", data, ...extra],
  { cwd: REPO, env: { ...process.env, RUST_LOG: "warn" } });
  const base = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("the server did not start in time")), WAIT);
    let out = "";
    child.stdout.on("data", (chunk) => {
      out += chunk;
      const m = out.match(/frontdesk is running: open (http:\/\/127\.0\.0\.1:\d+)\//);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    });
    child.on("exit", (code) => reject(new Error(`the server exited with ${code}`)));
  });
  const exited = new Promise((resolve) => child.on("exit", resolve));
  return {
    base, data, port: Number(new URL(base).port),
    stop: () => child.kill(),
    stopped: () => { child.kill(); return exited; },
    /** SIGKILL: a crash, no shutdown code runs. */
    killed: () => { child.kill("SIGKILL"); return exited; },
  };
}

/** The demo page with the widget's panel open. */
export async function openWidget(context, base) {
  const page = await context.newPage();
  page.setDefaultTimeout(WAIT);
  await page.goto(base + "/");
  await page.locator(".launch").click({ timeout: WAIT });
  return page;
}

export async function ask(page, text) {
  await page.locator(".compose textarea").fill(text);
  await page.locator(".compose textarea").press("Enter");
}

/** An agent logged in (HTTP) with the console socket open, in its own browser context. */
export async function agent(base) {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(base + "/healthz");
  const login = await page.request.post(base + "/api/agent/login", { data: { id: "ann", password: "ann-password-1" } });
  assert.equal(login.status(), 200);
  await page.evaluate((url) => new Promise((resolve, reject) => {
    window.frames_ = [];
    window.agentWs = new WebSocket(url);
    window.agentWs.onmessage = (m) => window.frames_.push(JSON.parse(m.data));
    window.agentWs.onopen = resolve;
    window.agentWs.onerror = reject;
  }), base.replace("http", "ws") + "/ws/agent");
  return {
    async until(predicate) {
      const handle = await page.waitForFunction(
        (src) => window.frames_.find(new Function("f", "return " + src)),
        predicate, { timeout: WAIT });
      return handle.jsonValue();
    },
    send: (frame) => page.evaluate((f) => window.agentWs.send(JSON.stringify(f)), frame),
    close: () => context.close(),
  };
}


const AXE = join(REPO, "tests", "browser", "node_modules", "axe-core", "axe.min.js");

/** axe-core's serious and critical violations on the page (open shadow roots included), as
 * "rule: target" lines, for an assertion message a person can act on. */
export async function seriousViolations(page) {
  return violations(page, ["serious", "critical"]);
}

/** axe-core's violations of the given impacts ("minor", "moderate", "serious", "critical"). */
export async function violations(page, impacts) {
  await page.addScriptTag({ path: AXE });
  return page.evaluate(async (impacts) => {
    const result = await window.axe.run(document, { resultTypes: ["violations"] });
    return result.violations
      .filter((v) => impacts.includes(v.impact))
      .flatMap((v) => v.nodes.map((n) => `${v.id}: ${JSON.stringify(n.target)} ${n.failureSummary}`));
  }, impacts);
}

/** Where `locator`'s box stands against its scroll container's visible box and the viewport:
 * {inside, below, above} in CSS pixels (inside: wholly visible). */
export async function visibility(locator) {
  return locator.evaluate((node) => {
    const box = node.getBoundingClientRect();
    let scroller = node.parentElement;
    while (scroller && !/(auto|scroll)/.test(getComputedStyle(scroller).overflowY)) {
      scroller = scroller.parentElement || scroller.getRootNode().host;
    }
    const frame = scroller ? scroller.getBoundingClientRect() : { top: 0, bottom: innerHeight };
    const top = Math.max(frame.top, 0), bottom = Math.min(frame.bottom, innerHeight);
    const below = Math.max(0, Math.round(box.bottom - bottom));
    const above = Math.max(0, Math.round(top - box.top));
    return { inside: below <= 1 && above <= 1, below, above };
  });
}

/** The WCAG contrast ratio of two CSS colours ("rgb(r, g, b)"). */
export function contrastRatio(a, b) {
  const lum = (css) => {
    const [r, g, bl] = css.match(/\d+(\.\d+)?/g).slice(0, 3).map(Number).map((x) => {
      x /= 255;
      return x <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * bl;
  };
  const [hi, lo] = [lum(a), lum(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}

/** The agent console of `id` (signed in over HTTP) in `context`; `clock: true` gives the page a
 * fake clock (installed before the console's scripts run). */
export async function consolePage(context, base, id, { clock = false } = {}) {
  const page = await context.newPage();
  page.setDefaultTimeout(WAIT);
  if (clock) await page.clock.install();
  await page.goto(base + "/healthz");
  const login = await page.request.post(base + "/api/agent/login", { data: { id, password: `${id}-password-1` } });
  assert.equal(login.status(), 200);
  await page.goto(base + "/agent");
  return page;
}
