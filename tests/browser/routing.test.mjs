// What a waiting visitor sees while routing happens (issue: "handoff that never strands a
// visitor"), in a real browser against the real binary (see harness.mjs), with a fake clock for
// the countdown.

import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { SHOTS, WAIT, browser, startServer, ask, agent, seriousViolations, visibility } from "./harness.mjs";

test("the estimate counts down from what it stated; when the only agent leaves, the visitor is told, with the form in view", async () => {
  const server = await startServer(["--auto-assign", "false"]);
  const context = await browser.newContext();
  const ann = await agent(server.base);
  try {
    await context.clock.install();
    const page = await context.newPage();
    page.setDefaultTimeout(WAIT);
    await page.goto(server.base + "/");
    await page.locator(".launch").click();
    await ask(page, "hello");
    await page.locator(".bot .msg").first().waitFor();
    await page.locator(".human").click();
    const status = page.locator(".status");
    await status.filter({ hasText: "#1 in line, about 1 min" }).waitFor();
    // It said "about 1 min": 45 s later it still says so (the server's estimate was 30 s).
    await context.clock.fastForward(45_000);
    assert.match(await status.innerText(), /#1 in line, about 1 min/, "not 'taking longer' before the minute it stated");
    await context.clock.fastForward(20_000);
    await status.filter({ hasText: "taking longer" }).waitFor();

    // The only agent closes the console: within seconds the visitor learns it and gets the form.
    const started = Date.now();
    await ann.close();
    const told = page.locator(".notice", { hasText: "No one from our team is online right now" });
    await told.waitFor({ timeout: 5_000 });
    assert.ok(Date.now() - started <= 5_000, "told within 5 s");
    const form = page.locator("form.offline");
    await form.waitFor();
    const seen = await visibility(form.locator("button"));
    assert.ok(seen.inside, `the form's button is in view: ${JSON.stringify(seen)}`);
    assert.match(await status.innerText(), /#1 in line/, "the place is kept");
    assert.match(await told.innerText(), /· \d{2}:\d{2}/, "the notice says when");
    // From the keyboard: the e-mail field, then Tab to the message.
    await form.locator("input[type=email]").focus();
    await page.keyboard.type("ada@example.com");
    await page.keyboard.press("Tab");
    assert.equal(await page.evaluate(() => document.querySelector("[data-frontdesk]").shadowRoot.activeElement.tagName), "TEXTAREA",
      "Tab reaches the message box");
    assert.deepEqual(await seriousViolations(page), []);
    await page.screenshot({ path: join(SHOTS, "widget-nobody-online.png") });
  } finally {
    await context.close();
    server.stop();
  }
});
