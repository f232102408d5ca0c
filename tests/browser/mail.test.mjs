// E-mail in a real browser, through a real SMTP server (aiosmtpd from PyPI: scripts/test sets
// FRONTDESK_TEST_AIOSMTPD to its Python): an offline message answered from the console (the form
// in view and named, the answer in the transcript, the mail arrives); "E-mail me this
// conversation" from the widget's menu by keyboard; a reply the visitor missed after closing the
// tab, mailed with a link that reopens the conversation in a browser that never saw it.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { createConnection, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SHOTS, WAIT, agent, browser, startServer, openWidget, ask, consolePage, seriousViolations, visibility } from "./harness.mjs";

/** A free port on loopback. */
function freePort() {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

/** Until `n` mails arrived: all of them, quoted-printable undone. */
async function mails(smtp, n) {
  const deadline = Date.now() + WAIT;
  while (smtp.received().length < n) {
    assert.ok(Date.now() < deadline, `${n} mail(s) expected, ${smtp.received().length} arrived`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return smtp.received().map((m) => m.replace(/=\r?\n/g, "").replace(/=([0-9A-F]{2})/g, (_, h) => String.fromCharCode(parseInt(h, 16))));
}

/** With nobody online: "Talk to a person", then the offline form as ana@example.com. */
async function leaveMessage(page, text) {
  await page.locator(".human").click();
  const form = page.locator("form.offline");
  await form.waitFor();
  await form.locator("input").fill("ana@example.com");
  await form.locator("textarea").fill(text);
  await form.locator("button").click();
  await page.locator(".notice", { hasText: "Message sent" }).waitFor();
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
    await leaveMessage(page, "My refund for order 4471 has not arrived");

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

    const [mail] = await mails(smtp, 1);
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

test("a reply the visitor missed is mailed, and the mail's link reopens the conversation in another browser", async () => {
  const port = await freePort();
  const smtp = await smtpServer(port);
  const server = await startServer(["--smtp-url", `smtp://127.0.0.1:${port}`, "--mail-from", "Larkspur Support <support@larkspur.example>",
    "--mail-after-minutes", "0.02", "--mail-reply-domain", "in.larkspur.example"]);
  // The site knows its visitor's address (settings.visitor, as a signed-in shop passes it).
  const context = await browser.newContext();
  await context.addInitScript(() => {
    let settings = {};
    Object.defineProperty(window, "frontdeskSettings", {
      configurable: true, get: () => settings,
      set: (v) => { settings = { ...v, visitor: { email: "ana@example.com" } }; },
    });
  });
  const ann = await agent(server.base);
  // Another browser (a phone, say), never used for this chat; CSP bypassed only for axe-core.
  const elsewhere = await browser.newContext({ bypassCSP: true, viewport: { width: 390, height: 844 } });
  try {
    const page = await openWidget(context, server.base);
    await ask(page, "where is my refund");
    await page.locator(".bot .msg").first().waitFor();
    await page.locator(".human").click();
    const token = await page.evaluate((key) => JSON.parse(localStorage.getItem(key)).token, `frontdesk:${new URL(server.base).host}`);
    const id = token.split(".")[0];
    await ann.send({ type: "claim", conversation: id });
    await page.locator(".status", { hasText: "Ann" }).waitFor();

    // "E-mail me this conversation", by keyboard from the header's menu.
    await page.locator(".more").focus();
    await page.keyboard.press("Enter");
    const item = page.locator(".menu [role=menuitem]");
    await item.waitFor();
    assert.equal(await item.evaluate((n) => n === n.getRootNode().activeElement), true, "the menu's item has the focus");
    assert.ok((await visibility(item)).inside, "the menu's item is in view");
    await page.screenshot({ path: join(SHOTS, "widget-menu.png") });
    await page.keyboard.press("Enter");
    const field = page.locator("form.mail-copy input");
    assert.equal(await field.inputValue(), "ana@example.com", "the address the site gave");
    assert.ok((await visibility(field)).inside, "the form is in view");
    await page.screenshot({ path: join(SHOTS, "widget-mail-copy.png") });
    await page.keyboard.press("Enter");
    await page.locator(".notice", { hasText: "On its way to ana@example.com" }).waitFor();
    const [copy] = await mails(smtp, 1);
    assert.match(copy, /^Subject: Your conversation with us$/m);
    assert.match(copy, /where is my refund/);

    // A reply the visitor sees in the widget is not mailed (the widget says it showed it).
    await ann.send({ type: "reply", conversation: id, text: "One moment, I am checking.", client_id: "r-0" });
    await page.locator(".agent .msg", { hasText: "One moment, I am checking." }).waitFor();
    await page.waitForTimeout(1000);

    // The visitor closes the tab; Ann answers.
    await page.close();
    await ann.send({ type: "reply", conversation: id, text: "Your refund left our bank today.", client_id: "r-1" });
    const missed = (await mails(smtp, 2))[1];
    assert.match(missed, /^Subject: Ann replied to you$/m);
    assert.match(missed, /Your refund left our bank today\./);
    assert.doesNotMatch(missed, /One moment/, "what the visitor saw is not in it");
    assert.match(missed, /^Reply-To: reply\+[0-9a-f.]+@in\.larkspur\.example$/m);
    const link = missed.match(/Continue the conversation: (\S+)/)[1];
    assert.ok(link.startsWith(server.base + "/#frontdesk=" + id + "."), link);

    // The link, in a browser that never saw this conversation: it opens, with the reply in view.
    const phone = await elsewhere.newPage();
    phone.setDefaultTimeout(WAIT);
    await phone.goto(link);
    const reply = phone.locator(".agent .msg", { hasText: "Your refund left our bank today." });
    await reply.waitFor();
    assert.ok((await visibility(reply)).inside, "the reply is in view");
    await phone.locator(".msg", { hasText: "where is my refund" }).waitFor();
    assert.ok(!phone.url().includes("frontdesk="), `the token left the address bar: ${phone.url()}`);
    const saved = await phone.evaluate((key) => JSON.parse(localStorage.getItem(key)).token, `frontdesk:${new URL(server.base).host}`);
    assert.match(saved, new RegExp(`^${id}\\.[0-9a-f]{32}$`), "the conversation's own token, for later visits");
    await phone.screenshot({ path: join(SHOTS, "widget-mail-link.png") });
    assert.deepEqual(await seriousViolations(phone), [], "axe-core on the reopened widget");

    // And the chat goes on, to Ann.
    await ask(phone, "Thank you!");
    const heard = await ann.until(`f.type === "conversation_event" && f.conversation === "${id}" && f.event.kind === "visitor_message" && f.event.text === "Thank you!"`);
    assert.equal(heard.event.text, "Thank you!");
  } finally {
    await context.close();
    await elsewhere.close();
    await ann.close();
    server.stop();
    smtp.stop();
  }
});

test("on a phone the console's e-mail answer to an offline message is in view and sends", async () => {
  const port = await freePort();
  const smtp = await smtpServer(port);
  const server = await startServer(["--smtp-url", `smtp://127.0.0.1:${port}`, "--mail-from", "Larkspur Support <support@larkspur.example>"]);
  const context = await browser.newContext();
  const phoneContext = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, bypassCSP: true });
  try {
    const page = await openWidget(context, server.base);
    await leaveMessage(page, "Do you ship to Norway?");

    const phone = await consolePage(phoneContext, server.base, "ann");
    await phone.locator("#followups .item").first().click();
    const text = phone.locator("#email-text");
    await text.waitFor();
    assert.ok((await visibility(phone.locator("#email-label"))).inside, "whom it goes to is in view");
    assert.ok((await visibility(text)).inside, "the answer box is in view");
    const width = await phone.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= 390, `the console is no wider than the phone: ${width}px`);
    await text.fill("Yes, in 3-5 working days.");
    const send = phone.locator("#email-reply button[type=submit]");
    assert.ok((await visibility(send)).inside, "Send by e-mail is in view");
    await send.click();
    await phone.locator("#email-said", { hasText: "on its way" }).waitFor();
    await phone.screenshot({ path: join(SHOTS, "console-email-reply-phone.png") });
    const [mail] = await mails(smtp, 1);
    assert.match(mail, /Yes, in 3-5 working days\./);
  } finally {
    await context.close();
    await phoneContext.close();
    server.stop();
    smtp.stop();
  }
});
