// The agent console (/agent) in a real browser, with a visitor on the widget in another browser
// context: a whole support conversation from "talk to a person" to the rating (see harness.mjs).

import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { SHOTS, WAIT, browser, startServer, openWidget, ask, contrastRatio } from "./harness.mjs";

/** The console signed in as `id` (after one wrong password), on its queue. */
async function signIn(context, base, id = "ann") {
  const page = await context.newPage();
  page.setDefaultTimeout(WAIT);
  await page.goto(base + "/agent");
  assert.ok(page.url().endsWith("/agent/login"), "no session: the console redirects to sign-in");
  await page.fill("input[name=id]", id);
  await page.fill("input[name=password]", "wrong-password");
  await page.click("#login button");
  await page.locator("#login .error", { hasText: "wrong name or password" }).waitFor();
  if (id === "ann") await page.screenshot({ path: join(SHOTS, "console-login.png") });
  await page.fill("input[name=password]", id + "-password-1");
  await page.click("#login button");
  await page.waitForURL(base + "/agent");
  await page.locator("#me", { hasText: id === "ann" ? "Ann" : "Bob" }).waitFor();
  return page;
}

test("an agent takes a chat in the console and runs it to the rating; notes stay internal; a reload loses nothing", async () => {
  const server = await startServer(["--auto-assign", "false"]);
  const visitorContext = await browser.newContext();
  const agentContext = await browser.newContext();
  try {
    const console_ = await signIn(agentContext, server.base);
    const widget = await openWidget(visitorContext, server.base);
    await ask(widget, "this is useless!!!");
    await widget.locator(".status", { hasText: "in line" }).waitFor();

    // The queue shows the visitor with why they are waiting; the title counts them.
    const item = console_.locator("#queue .item").first();
    await item.waitFor();
    assert.match(await item.innerText(), /frustrated/);
    assert.match(await item.innerText(), /this is useless!!!/);
    await console_.waitForFunction(() => document.title.startsWith("(1)"));
    await item.click();
    await console_.locator("#claim").waitFor();
    await console_.screenshot({ path: join(SHOTS, "console-queue.png") });
    await console_.locator("#log .ev.visitor", { hasText: "this is useless!!!" }).waitFor();
    const why = await console_.locator("#why").innerText();
    assert.match(why, /frustrated/);
    assert.doesNotMatch(why, /frustration 0\.00/, "the score when the bot let go, not the reset meter");
    await console_.locator("#claim").click();
    await widget.locator(".notice", { hasText: "Ann will be with you shortly" }).waitFor();
    await console_.locator("#mine .item").first().waitFor();

    // Reply, note, and the visitor's answer.
    await console_.fill("#text", "Hi, I'm Ann. Sorry about that, let me help.");
    await console_.press("#text", "Enter");
    await widget.locator(".agent .msg", { hasText: "let me help" }).waitFor();
    await console_.check("#asnote");
    await console_.fill("#text", "Customer is upset, offer a discount");
    await console_.press("#text", "Enter");
    await console_.locator("#log .ev.note", { hasText: "offer a discount" }).waitFor();
    await console_.uncheck("#asnote");
    await ask(widget, "my parcel never arrived");
    await console_.locator("#log .ev.visitor", { hasText: "my parcel never arrived" }).waitFor();
    assert.equal(await widget.locator("text=offer a discount").count(), 0, "the note never reaches the visitor");

    // Canned replies with "/".
    await console_.fill("#text", "/order");
    await console_.locator("#canned.open button", { hasText: "order-number" }).waitFor();
    // The highlighted one is readable (it was white on a pale green, 1.1:1).
    const [fg, bg] = await console_.locator("#canned button.sel").evaluate((b) =>
      [getComputedStyle(b).color, getComputedStyle(b).backgroundColor]);
    assert.ok(contrastRatio(fg, bg) >= 4.5, `the highlighted canned reply: ${fg} on ${bg}`);
    await console_.press("#text", "Enter");
    assert.match(await console_.inputValue("#text"), /order number/);
    await console_.press("#text", "Enter");
    await widget.locator(".agent .msg", { hasText: "order number" }).waitFor();
    await console_.screenshot({ path: join(SHOTS, "console-chat.png") });

    // Reload the console mid-chat: the whole transcript, once.
    await console_.reload();
    await console_.locator("#mine .item").first().click();
    await console_.locator("#log .ev.agent", { hasText: "order number" }).waitFor();
    await console_.waitForTimeout(300);
    assert.equal(await console_.locator("#log .ev.agent", { hasText: "let me help" }).count(), 1);
    assert.equal(await console_.locator("#log .ev.note", { hasText: "offer a discount" }).count(), 1);

    // Hand back: the bot answers again; then a person again, and close: the visitor rates.
    await console_.locator("#handback").click();
    await widget.locator(".notice", { hasText: "back with the assistant" }).waitFor();
    await ask(widget, "how do I reset my password");
    await widget.locator(".bot .msg", { hasText: /password/i }).last().waitFor();
    await widget.locator(".human").click();
    await console_.locator("#queue .item").first().click();
    await console_.locator("#claim").click();
    await widget.locator(".notice", { hasText: "Ann will be with you shortly" }).nth(1).waitFor();
    await console_.selectOption("#resolution", "solved");
    await console_.locator("#close").click();
    await widget.locator("form.rating").waitFor();
    await widget.locator("form.rating button[aria-label='4 of 5']").click();
    await widget.locator("form.rating button[type=submit]").click();
    await widget.locator(".notice", { hasText: "Thank you!" }).waitFor();
  } finally {
    await visitorContext.close();
    await agentContext.close();
    server.stop();
  }
});

test("two agents race to claim one chat: exactly one gets it, the other sees it leave the queue", async () => {
  const server = await startServer(["--auto-assign", "false"]);
  const visitorContext = await browser.newContext();
  const annContext = await browser.newContext();
  const bobContext = await browser.newContext();
  try {
    const ann = await signIn(annContext, server.base, "ann");
    const bob = await signIn(bobContext, server.base, "bob");
    const widget = await openWidget(visitorContext, server.base);
    await widget.locator(".human").click();
    for (const page of [ann, bob]) {
      await page.locator("#queue .item").first().click();
      await page.locator("#claim").waitFor();
    }
    // Both press Claim at the same moment (the button of whoever loses disappears at once, so
    // press it from script rather than wait for it to be clickable).
    await Promise.all([ann, bob].map((p) => p.evaluate(() => document.getElementById("claim").click())));
    const joined = widget.locator(".notice", { hasText: "will be with you shortly" });
    await joined.waitFor();
    const winner = (await joined.innerText()).startsWith("Ann") ? ann : bob;
    const loser = winner === ann ? bob : ann;
    await winner.locator("#mine .item").first().waitFor();
    await loser.locator("#queue .empty").waitFor();
    assert.equal(await loser.locator("#mine .item").count(), 0, "the loser got nothing");
    assert.equal(await joined.count(), 1, "the visitor was joined once");
  } finally {
    await visitorContext.close();
    await annContext.close();
    await bobContext.close();
    server.stop();
  }
});

/** Whether `locator`'s element lies inside its page's visible viewport. */
async function inViewport(locator) {
  const box = await locator.boundingBox();
  const view = locator.page().viewportSize();
  return box !== null && box.y >= 0 && box.x >= 0 && box.y + box.height <= view.height && box.x + box.width <= view.width;
}

test("the server is killed mid-chat (default store): after it starts again the widget shows the whole transcript and the console is still signed in", async () => {
  let server = await startServer(["--auto-assign", "false"]);
  const visitorContext = await browser.newContext();
  const agentContext = await browser.newContext();
  try {
    const console_ = await signIn(agentContext, server.base);
    const widget = await openWidget(visitorContext, server.base);
    await ask(widget, "this is useless!!!");
    await widget.locator(".status", { hasText: "in line" }).waitFor();
    await console_.locator("#queue .item").first().click();
    await console_.locator("#claim").click();
    await widget.locator(".notice", { hasText: "Ann will be with you shortly" }).waitFor();
    await console_.fill("#text", "Hi, Ann here. What is your order number?");
    await console_.press("#text", "Enter");
    await widget.locator(".agent .msg", { hasText: "order number" }).waitFor();
    await ask(widget, "It is 4521, it never arrived");
    await console_.locator("#log .ev.visitor", { hasText: "4521" }).waitFor();

    await server.killed();
    await widget.locator(".status", { hasText: "Reconnecting" }).waitFor();
    server = await startServer(["--auto-assign", "false"], server.port, undefined, server.data);

    // The open widget reconnects to the same conversation: everything once, nothing pending.
    await widget.waitForFunction(() => !document.querySelector(".status")?.textContent.includes("Reconnecting"), null, { timeout: 20_000 });
    await widget.reload(); // the panel stays open
    const last = widget.locator(".me .msg", { hasText: "4521" });
    await last.waitFor();
    assert.deepEqual(await widget.locator(".me .msg").allInnerTexts(), ["this is useless!!!", "It is 4521, it never arrived"]);
    assert.equal(await widget.locator(".agent .msg", { hasText: "order number" }).count(), 1);
    assert.equal(await widget.locator(".notice", { hasText: "Ann will be with you shortly" }).count(), 1);
    assert.equal(await widget.locator(".pending").count(), 0);
    assert.ok(await inViewport(last), "the visitor's last message is on screen after the restart");
    await widget.screenshot({ path: join(SHOTS, "widget-after-restart.png") });

    // The console: still signed in (no redirect to the sign-in page), the chat still Ann's.
    await console_.reload();
    assert.ok(console_.url().endsWith("/agent"), `still signed in, not sent to ${console_.url()}`);
    await console_.locator("#mine .item").first().click();
    const message = console_.locator("#log .ev.visitor", { hasText: "4521" });
    await message.waitFor();
    assert.ok(await inViewport(message), "the visitor's message is on screen in the console");
    await console_.fill("#text", "Thanks, checking now.");
    await console_.press("#text", "Enter");
    await widget.locator(".agent .msg", { hasText: "checking now" }).waitFor();
    await console_.screenshot({ path: join(SHOTS, "console-after-restart.png") });
  } finally {
    await visitorContext.close();
    await agentContext.close();
    server.stop();
  }
});

test("a Spanish conversation shows its language, and canned replies come in Spanish", async () => {
  const server = await startServer(["--auto-assign", "false"]);
  const visitorContext = await browser.newContext({ locale: "es-ES" });
  const agentContext = await browser.newContext();
  try {
    const console_ = await signIn(agentContext, server.base);
    const widget = await openWidget(visitorContext, server.base);
    await ask(widget, "mi pedido no ha llegado todavía");
    await widget.locator(".bot .msg").first().waitFor();
    await widget.locator(".human").click();
    await widget.locator(".status", { hasText: "en la cola" }).waitFor();

    const item = console_.locator("#queue .item").first();
    await item.waitFor();
    assert.match(await item.innerText(), /in Spanish/);
    await item.click();
    await console_.locator("#claim").click();
    await widget.locator(".notice", { hasText: "Ann te atenderá enseguida" }).waitFor();
    const details = console_.locator("#visitor");
    await details.locator("dd", { hasText: "Spanish" }).waitFor();
    // Why the bot let go, in words (not its code), and the language each message was read in.
    await console_.locator("#log .ev.sys", { hasText: "Waiting for a person: the visitor asked for a person" }).waitFor();
    assert.match(await console_.locator("#log").innerText(), /read in Spanish/);

    await console_.fill("#text", "/order");
    const option = console_.locator("#canned.open button", { hasText: "order-number" });
    await option.waitFor();
    assert.match(await option.innerText(), /Pedir el número de pedido \(Spanish\)/);
    await console_.press("#text", "Enter");
    assert.match(await console_.inputValue("#text"), /número de pedido/);
    await console_.press("#text", "Enter");
    await widget.locator(".agent .msg", { hasText: "número de pedido" }).waitFor();
    await console_.screenshot({ path: join(SHOTS, "console-spanish.png") });
  } finally {
    await visitorContext.close();
    await agentContext.close();
    server.stop();
  }
});

test("the console says things in words: which answer was rated, where a chat stands, a fresh resolution for each chat", async () => {
  const server = await startServer(["--auto-assign", "false"]);
  const visitorContext = await browser.newContext();
  const otherContext = await browser.newContext();
  const agentContext = await browser.newContext();
  try {
    const console_ = await signIn(agentContext, server.base);
    const widget = await openWidget(visitorContext, server.base);
    await ask(widget, "how do I return an item");
    await widget.locator(".vote button", { hasText: "No" }).click();
    await ask(widget, "I want to talk to a person");
    await widget.locator(".status", { hasText: "in line" }).waitFor();
    await console_.locator("#queue .item").first().click();
    const rated = console_.locator("#log .ev.sys", { hasText: "not helpful" });
    await rated.waitFor();
    const said = await rated.innerText();
    assert.doesNotMatch(said, /#\d/, `no answer numbers: ${said}`);
    assert.match(said, /“.{10,}”/, `the answer's own words: ${said}`);
    assert.match(await console_.locator("#title").innerText(), /waiting for a person/);
    await console_.locator("#claim").click();
    await console_.locator("#title", { hasText: "with you" }).waitFor();
    assert.doesNotMatch(await console_.locator("#title").innerText(), /· (bot|queued|assigned)\b/);
    await console_.selectOption("#resolution", "spam");

    // The next chat does not inherit "Spam".
    const other = await openWidget(otherContext, server.base);
    await ask(other, "talk to a person please");
    await other.locator(".status", { hasText: "in line" }).waitFor();
    await console_.locator("#queue .item").first().click();
    await console_.locator("#claim").click();
    await console_.locator("#title", { hasText: "with you" }).waitFor();
    assert.equal(await console_.inputValue("#resolution"), "solved");
  } finally {
    await visitorContext.close();
    await otherContext.close();
    await agentContext.close();
    server.stop();
  }
});
