// The agent console on a phone (390x844): one view at a time (chats, the conversation, the
// visitor), nothing wider than the screen, everything an agent needs in view and reachable by
// keyboard (see harness.mjs).

import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { SHOTS, browser, startServer, openWidget, consolePage, ask, seriousViolations, visibility } from "./harness.mjs";

// bypassCSP: axe-core is injected as a script the pages' policy would refuse.
const PHONE = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, bypassCSP: true };

/** How far the page scrolls sideways (0 when it fits the screen). */
const sideways = (page) => page.evaluate(() => document.scrollingElement.scrollWidth - innerWidth);

test("on a phone an agent picks a chat from the list, reads and answers it, sees the visitor, and goes back", async () => {
  const server = await startServer(["--auto-assign", "false"]);
  const visitorContext = await browser.newContext();
  const agentContext = await browser.newContext(PHONE);
  try {
    // Ann is online on her phone before the visitor asks.
    const phone = await consolePage(agentContext, server.base, "ann");
    await phone.locator("#me", { hasText: "Ann" }).waitFor();
    const widget = await openWidget(visitorContext, server.base);
    await ask(widget, "my parcel arrived broken, I want a person");
    await widget.locator(".status", { hasText: "in line" }).waitFor();

    const item = phone.locator("#queue .item").first();
    await item.waitFor();
    assert.equal(await sideways(phone), 0, "the list fits the screen");
    assert.ok((await visibility(item)).inside, "the waiting chat is in view");
    await phone.screenshot({ path: join(SHOTS, "console-phone-list.png") });

    await item.click();
    const claim = phone.locator("#claim");
    await claim.waitFor();
    const chat = await phone.locator("#chat").boundingBox();
    assert.ok(chat.width >= 360, `the conversation takes the screen's width: ${chat.width}px`);
    assert.equal(await sideways(phone), 0, "the conversation fits the screen");
    await phone.locator("#log .ev.visitor", { hasText: "arrived broken" }).waitFor();
    assert.ok((await visibility(phone.locator("#log .ev.visitor").first())).inside, "the visitor's words are in view");
    await claim.click();
    await phone.locator("#composer textarea").waitFor();
    const composer = phone.locator("#composer textarea");
    assert.ok((await visibility(composer)).inside, "the reply box is in view");
    const send = phone.locator("#composer button[type=submit]");
    assert.ok((await visibility(send)).inside, "Send is in view");
    await composer.fill("Sorry to hear that! Could you send the order number?");
    await composer.press("Enter");
    await widget.locator(".agent .msg", { hasText: "order number" }).waitFor();
    await phone.locator("#log .ev.agent", { hasText: "order number" }).waitFor();
    await phone.screenshot({ path: join(SHOTS, "console-phone-chat.png") });

    // The visitor's details are a view of their own, reached by keyboard.
    const details = phone.locator("#views button", { hasText: "Visitor" });
    await details.focus();
    await phone.keyboard.press("Enter");
    await phone.locator("#visitor").waitFor();
    assert.ok((await visibility(phone.locator("#side h2").first())).inside, "the visitor panel is in view");
    assert.equal(await phone.locator("#chat").isVisible(), false, "one view at a time");
    // The key an erasure request is made by, to copy.
    assert.match(await phone.locator("#visitor .key").innerText(), /^[0-9a-f]{32}$/);
    assert.ok(await phone.locator("#visitor .copy").isVisible());
    assert.equal(await sideways(phone), 0);
    await phone.screenshot({ path: join(SHOTS, "console-phone-visitor.png") });

    // Back to the list: the chat is under "My chats".
    await phone.locator("#views button", { hasText: "Chats" }).click();
    await phone.locator("#mine .item").first().waitFor();
    assert.ok((await visibility(phone.locator("#mine .item").first())).inside);
    assert.deepEqual(await seriousViolations(phone), []);
  } finally {
    await visitorContext.close();
    await agentContext.close();
    server.stop();
  }
});

test("on a desktop the three columns stay and the view buttons are not shown", async () => {
  const server = await startServer(["--auto-assign", "false"]);
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  try {
    const page = await consolePage(context, server.base, "ann");
    await page.locator("#queue").waitFor({ state: "attached" });
    await page.locator("#me", { hasText: "Ann" }).waitFor();
    assert.equal(await page.locator("#views").isVisible(), false);
    for (const column of ["aside", "#chat", "#side"]) {
      assert.ok(await page.locator(column).isVisible(), `${column} is shown`);
    }
    assert.equal(await sideways(page), 0);
  } finally {
    await context.close();
    server.stop();
  }
});
