// An offline message answered from the console by e-mail, in a real browser, through a real SMTP
// server (aiosmtpd from PyPI: scripts/test sets FRONTDESK_TEST_AIOSMTPD to its Python): the form is
// in view and named, the answer lands in the transcript, and the visitor's mail arrives.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { createConnection, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SHOTS, WAIT, browser, startServer, openWidget, ask, consolePage, seriousViolations, visibility } from "./harness.mjs";

/** A free port on loopback. */
function freePort() {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

/** aiosmtpd on `port`, keeping mail in a Maildir: {received(), stop()}. */
async function smtpServer(port) {
  const python = process.env.FRONTDESK_TEST_AIOSMTPD;
  assert.ok(python && existsSync(python), "this test needs aiosmtpd: scripts/test installs it and sets FRONTDESK_TEST_AIOSMTPD");
  const dir = mkdtempSync(join(tmpdir(), "frontdesk-mail-"));
  const child = spawn(python, ["-m", "aiosmtpd", "-n", "-l", `127.0.0.1:${port}`, "-c", "aiosmtpd.handlers.Mailbox", join(dir, "box")], { stdio: "ignore" });
  const deadline = Date.now() + WAIT;
  for (;;) {
    const up = await new Promise((resolve) => {
      const c = createConnection(port, "127.0.0.1", () => { c.end(); resolve(true); });
      c.on("error", () => resolve(false));
    });
    if (up) break;
    assert.ok(Date.now() < deadline, "aiosmtpd did not start");
    await new Promise((r) => setTimeout(r, 100));
  }
  const received = () => ["new", "cur"].flatMap((sub) => {
    const folder = join(dir, "box", sub);
    return existsSync(folder) ? readdirSync(folder).map((f) => readFileSync(join(folder, f), "utf8")) : [];
  });
  return { received, stop: () => child.kill() };
}

test("an agent answers an offline message by e-mail from the console, and the mail arrives", async () => {
  const port = await freePort();
  const smtp = await smtpServer(port);
  const server = await startServer(["--smtp-url", `smtp://127.0.0.1:${port}`, "--mail-from", "Larkspur Support <support@larkspur.example>"]);
  const context = await browser.newContext();
  // Bypassing the console's CSP only so that axe-core can be injected.
  const agentContext = await browser.newContext({ bypassCSP: true });
  try {
    const page = await openWidget(context, server.base);
    await ask(page, "where is my refund");
    await page.locator(".bot .msg").first().waitFor();
    await page.locator(".human").click();
    const form = page.locator("form.offline");
    await form.waitFor();
    await form.locator("input").fill("ana@example.com");
    await form.locator("textarea").fill("My refund for order 4471 has not arrived");
    await form.locator("button").click();
    await page.locator(".notice", { hasText: "Message sent" }).waitFor();

    const console_ = await consolePage(agentContext, server.base, "ann");
    await console_.locator("#followups .item").first().click();
    const reply = console_.locator("#email-reply");
    await reply.waitFor();
    assert.match(await console_.locator("#email-label").innerText(), /Reply by e-mail to ana@example.com/);
    assert.ok((await visibility(reply)).inside, "the e-mail form is in view");
    await console_.locator("#email-text").focus();
    await console_.keyboard.type("Your refund was sent today; it shows in 3-5 days.");
    await console_.keyboard.press("Tab");
    await console_.keyboard.press("Enter");
    await console_.locator("#log .ev.agent", { hasText: "Your refund was sent today" }).waitFor();
    await console_.locator("#email-said", { hasText: "on its way" }).waitFor();
    await console_.locator("#followups .empty").waitFor();
    await console_.screenshot({ path: join(SHOTS, "console-email-reply.png") });
    assert.deepEqual(await seriousViolations(console_), [], "axe-core on the console");

    const deadline = Date.now() + WAIT;
    while (smtp.received().length === 0) {
      assert.ok(Date.now() < deadline, "the mail did not arrive");
      await new Promise((r) => setTimeout(r, 100));
    }
    const mail = smtp.received()[0];
    assert.match(mail, /^To: ana@example\.com$/m);
    assert.match(mail, /Your refund was sent today/);
    // The visitor sees the answer in the widget too.
    await page.locator(".agent .msg, .msg", { hasText: "Your refund was sent today" }).first().waitFor();
  } finally {
    await context.close();
    await agentContext.close();
    server.stop();
    smtp.stop();
  }
});
