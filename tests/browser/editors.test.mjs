// The editors' loop in a real browser: a question the bot missed, tried in the try box, made a
// phrasing of an FAQ from the unanswered list in one dialog (checked first, then saved), and
// answered by the bot in the visitor's open widget; the change in the record with its diff; the
// editors' suite run from the page; what each FAQ does, with the conversations behind a number.
// What a person sees: in the viewport, reachable by keyboard, axe-core finds nothing serious.

import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { SHOTS, WAIT, browser, startServer, openWidget, ask, copyKnowledgeBase, seriousViolations, visibility } from "./harness.mjs";

const MISSED = "i need a copy of my receipt";

test("an editor turns a missed question into a phrasing in one dialog and the bot answers it at once", async () => {
  const kb = copyKnowledgeBase();
  const server = await startServer([], 0, kb);
  const visitorContext = await browser.newContext();
  // Bypassing the page's CSP only so that axe-core can be injected.
  const adminContext = await browser.newContext({ bypassCSP: true, viewport: { width: 1280, height: 800 } });
  try {
    const widget = await openWidget(visitorContext, server.base);
    await ask(widget, MISSED);
    await widget.locator(".bot .msg").nth(0).waitFor();
    assert.doesNotMatch(await widget.locator(".bot .msg").nth(0).innerText(), /invoice/i, "the bot missed it");

    const page = await adminContext.newPage();
    page.setDefaultTimeout(WAIT);
    await page.goto(server.base + "/admin");
    await page.fill("#login-id", "max");
    await page.fill("#login-password", "max-password-1");
    await page.click("#login button");
    await page.waitForURL(server.base + "/admin");

    // The try box: the decision and why, in words.
    await page.fill("#try-text", MISSED);
    await page.click("#try-form button");
    const tried = page.locator("#try-result .verdict");
    await tried.waitFor();
    assert.match(await tried.locator("h3").innerText(), /Does not answer/);
    assert.match(await tried.innerText(), /Why not the others/);
    assert.ok((await tried.locator("table.candidates tbody tr").count()) >= 2, "the runners-up are listed");
    await page.screenshot({ path: join(SHOTS, "admin-try.png") });

    // The unanswered list says what the bot does now, and offers the fix, by keyboard too.
    const row = page.locator("#unanswered tr.group", { hasText: MISSED });
    await row.locator(".tag.now", { hasText: "now: fallback" }).waitFor();
    const started = Date.now();
    const fix = row.getByRole("button", { name: `Fix: ${MISSED}` });
    await fix.focus();
    await page.keyboard.press("Enter");
    const dialog = page.locator("#fix");
    await dialog.locator("#fix-title", { hasText: MISSED }).waitFor();
    assert.equal(await page.evaluate(() => document.activeElement && document.activeElement.id), "fix-search", "the search has the focus");
    await page.keyboard.type("invoice");
    const invoice = dialog.locator('#fix-faqs input[value="invoice"]');
    await invoice.check();
    assert.match(await dialog.locator("#fix-faqs li", { has: page.locator('input[value="invoice"]') }).innerText(), /faq\/payments\/invoice\.md/);

    // Checked first: the editors' tests with the change.
    await page.click("#fix-check");
    const preview = dialog.locator("#fix-result .verdict");
    await preview.waitFor({ timeout: 60_000 });
    assert.match(await preview.locator("h3").innerText(), /breaks no test|would break/);

    // Saved: the Markdown is written, reloaded, and the verdict says the bot answers it.
    await page.click("#fix-save");
    const saved = dialog.locator("#fix-result .verdict", { hasText: "Saved to" });
    await saved.waitFor({ timeout: 30_000 });
    assert.match(await saved.innerText(), /✓ The bot now: invoice/);
    assert.match(await saved.innerText(), /Self-test of the FAQ: \d+\/\d+ phrasings/);
    const diff = dialog.locator("#fix-result pre.diff").first();
    assert.match(await diff.innerText(), /\+  "i need a copy of my receipt",/);
    await saved.scrollIntoViewIfNeeded();
    assert.ok((await visibility(saved)).inside, "the verdict is in view");
    const elapsed = Date.now() - started;
    await page.screenshot({ path: join(SHOTS, "admin-fix.png") });
    assert.deepEqual(await seriousViolations(page), [], "axe-core with the fix dialog open");
    const file = readFileSync(join(kb, "faq", "payments", "invoice.md"), "utf8");
    assert.match(file, /  "i need a copy of my receipt",\n\]/, "a readable line in the Markdown");
    await page.click("#fix-close");

    // The visitor, in the same widget, asks again: answered with the invoice FAQ.
    await ask(widget, MISSED);
    await widget.locator(".bot .msg").nth(1).waitFor();
    assert.match(await widget.locator(".bot .msg").nth(1).innerText(), /invoice/i);

    // The list now says it is answered, and the record shows who changed what.
    await row.locator(".tag.now", { hasText: "now: invoice" }).waitFor();
    const change = page.locator("#changes li").first();
    await change.waitFor();
    assert.match(await change.innerText(), /Max|max/);
    assert.match(await change.innerText(), /added a phrasing: “i need a copy of my receipt” → invoice/);
    await change.locator("summary").click();
    assert.match(await change.locator("pre.diff").first().innerText(), /faq\/payments\/invoice\.md/);

    // What each FAQ does (read again for the last 24 hours): the invoice FAQ answered once, and
    // the number opens that conversation.
    await page.selectOption("#period", "1");
    const invoiceRow = page.locator("#feedback tr", { hasText: "payments/invoice.md" });
    await invoiceRow.waitFor();
    await invoiceRow.getByRole("button", { name: /answered: show the conversations/ }).click();
    await page.locator("#behind-list tr").first().waitFor();
    assert.match(await page.locator("#behind-title").innerText(), /invoice: answered/i);

    // The editors' suite from the page.
    await page.click("#run-tests");
    const suite = page.locator("#suite .verdict");
    await suite.waitFor({ timeout: 60_000 });
    assert.match(await suite.locator("h3").innerText(), /phrasings find their FAQ .* test cases/);
    await page.screenshot({ path: join(SHOTS, "admin-editors.png"), fullPage: true });
    assert.deepEqual(await seriousViolations(page), [], "axe-core on /admin after the fix");
    console.log(`from "Fix…" to saved and checked: ${(elapsed / 1000).toFixed(1)} s`);
  } finally {
    await visitorContext.close();
    await adminContext.close();
    server.stop();
  }
});

test("on a 390x844 phone the try box and the fix dialog fit the screen", async () => {
  const server = await startServer();
  const visitorContext = await browser.newContext();
  const phone = await browser.newContext({ bypassCSP: true, viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  try {
    const widget = await openWidget(visitorContext, server.base);
    await ask(widget, MISSED);
    await widget.locator(".bot .msg").nth(0).waitFor();
    const page = await phone.newPage();
    page.setDefaultTimeout(WAIT);
    await page.goto(server.base + "/admin");
    await page.fill("#login-id", "max");
    await page.fill("#login-password", "max-password-1");
    await page.click("#login button");
    await page.waitForURL(server.base + "/admin");
    assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= 390), "the page keeps the phone's width");
    await page.fill("#try-text", MISSED);
    await page.click("#try-form button");
    const tried = page.locator("#try-result .verdict h3");
    await tried.waitFor();
    const box = await tried.boundingBox();
    assert.ok(box.x >= 0 && box.x + box.width <= 390, `the verdict fits the width: ${JSON.stringify(box)}`);
    const fix = page.locator("#unanswered tr.group", { hasText: MISSED }).getByRole("button", { name: `Fix: ${MISSED}` });
    await fix.click();
    const save = page.locator("#fix-save");
    await save.scrollIntoViewIfNeeded();
    assert.ok((await visibility(save)).inside, "Save is reachable on the phone");
    const dialog = await page.locator("#fix").boundingBox();
    assert.ok(dialog.x >= 0 && dialog.x + dialog.width <= 390, `the dialog fits the width: ${JSON.stringify(dialog)}`);
    await page.screenshot({ path: join(SHOTS, "admin-phone-fix.png") });
  } finally {
    await visitorContext.close();
    await phone.close();
    server.stop();
  }
});
