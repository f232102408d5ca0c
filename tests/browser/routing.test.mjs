// What a waiting visitor sees while routing happens (issue: "handoff that never strands a
// visitor"), in a real browser against the real binary (see harness.mjs), with a fake clock for
// the countdown.

import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { SHOTS, WAIT, browser, startServer, openWidget, consolePage, ask, agent, seriousViolations, visibility } from "./harness.mjs";

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

test("the header says who will answer until they write, and says it at once after a server restart", async () => {
  let server = await startServer(["--auto-assign", "false"]);
  const context = await browser.newContext();
  let ann = await agent(server.base);
  try {
    const page = await openWidget(context, server.base);
    await page.locator(".human").click();
    const queue = await ann.until("f.type === 'queue' && f.items.length === 1");
    const conversation = queue.items[0].conversation;
    await ann.send({ type: "claim", conversation });
    const status = page.locator(".status");
    await status.filter({ hasText: "Ann will be with you shortly" }).waitFor();
    assert.doesNotMatch(await status.innerText(), /Talking to/, "not talking before Ann opened or wrote anything");
    await ann.send({ type: "reply", conversation, text: "Hi, Ann here" });
    await status.filter({ hasText: "Talking to Ann" }).waitFor();

    // A restart: the connection comes back and the header says so, without waiting for news.
    await ann.close();
    await server.stopped();
    await status.filter({ hasText: "Reconnecting" }).waitFor();
    server = await startServer(["--auto-assign", "false"], server.port, undefined, server.data);
    ann = await agent(server.base);
    await status.filter({ hasText: "Talking to Ann" }).waitFor({ timeout: 20_000 });
    await page.screenshot({ path: join(SHOTS, "widget-after-restart.png") });
  } finally {
    await ann.close();
    await context.close();
    server.stop();
  }
});

test("outside anyone's reach the form is in view when the bot asks for it, on a phone too; it goes once a person has the chat", async () => {
  const server = await startServer(["--auto-assign", "false"]);
  const context = await browser.newContext({ viewport: { width: 390, height: 844 } });
  const agentContext = await browser.newContext();
  try {
    const page = await openWidget(context, server.base);
    await page.locator(".human").click();
    const form = page.locator("form.offline");
    await form.waitFor();
    assert.ok(await page.locator(".human").isHidden(), "no 'Talk to a person' while nobody can answer");
    // The visitor goes on asking; the form scrolls away; they ask for a person again.
    for (const q of ["where is my order?", "how long does shipping take?", "can I pay with Klarna?"]) {
      await ask(page, q);
      await page.locator(".row.me", { hasText: q }).waitFor();
    }
    await page.locator(".row.bot").nth(3).waitFor();
    await ask(page, "I want to talk to a person");
    await page.locator(".row.bot").nth(4).waitFor();
    assert.equal(await page.locator("form.offline").count(), 1, "one form, not two");
    const seen = await visibility(form.locator("button"));
    assert.ok(seen.inside, `the form is in view when the bot asks for it: ${JSON.stringify(seen)}`);
    await page.screenshot({ path: join(SHOTS, "widget-offline-form-phone.png") });

    // Ann signs in; the visitor asks again and Ann takes the chat: the unused form goes.
    const console_ = await consolePage(agentContext, server.base, "ann");
    await console_.locator("#queue .empty").waitFor();
    await ask(page, "talk to a person please");
    await page.locator(".status", { hasText: "#1 in line" }).waitFor();
    await console_.locator("#queue .item").first().click();
    await console_.locator("#claim").click();
    await page.locator(".notice", { hasText: "Ann will be with you shortly" }).waitFor();
    assert.equal(await page.locator("form.offline").count(), 0, "no unused form once a person has the chat");
  } finally {
    await agentContext.close();
    await context.close();
    server.stop();
  }
});

test("a visitor who once left an offline message is a live chat like any other when they ask again", async () => {
  const server = await startServer(["--auto-assign", "false"]);
  const context = await browser.newContext();
  const agentContext = await browser.newContext();
  try {
    const page = await openWidget(context, server.base);
    await page.locator(".human").click();
    const form = page.locator("form.offline");
    await form.locator("input[type=email]").fill("ada@example.com");
    await form.locator("textarea").fill("Please call me back about my order");
    await form.locator("button").click();
    await page.locator(".notice", { hasText: "ada@example.com" }).waitFor();

    const console_ = await consolePage(agentContext, server.base, "ann");
    // The entry says who left it, when and what (it said "Visitor · offline message").
    const left = console_.locator("#followups .item").first();
    await left.waitFor();
    const entry = await left.innerText();
    assert.match(entry, /ada@example\.com/);
    assert.match(entry, /Please call me back about my order/);
    assert.match(entry, /\d{1,2}:\d{2}/, `when it was left: ${entry}`);
    assert.doesNotMatch(entry.split("\n")[0], /^Visitor$/, "titled by what is known");
    // Opened: it says where it stands, a note is what can be written, and following it up is done
    // at once (the button used to stay and refuse a second press).
    await left.click();
    await console_.locator("#title", { hasText: "left a message" }).waitFor();
    assert.ok(await console_.locator("#asnote").isChecked(), "only a note can be written here");
    assert.ok(await console_.locator("#asnote").isDisabled());
    await console_.fill("#text", "Called her back, all sorted");
    await console_.press("#text", "Enter");
    await console_.locator("#log .ev.note", { hasText: "all sorted" }).waitFor();
    await console_.locator("#followed").click();
    await console_.locator("#followed").waitFor({ state: "hidden" });
    await console_.locator("#followups .empty").waitFor();
    assert.equal(await console_.locator("#refusals .refusal").count(), 0, "nothing refused");
    await ask(page, "talk to a person");
    await page.locator(".status", { hasText: "#1 in line" }).waitFor();
    await console_.locator("#queue .item").first().click();
    // The real reason (asking for a person, whichever rule caught it), not the offline message.
    const why = console_.locator("#why");
    await why.filter({ hasText: "Why the bot let go: the visitor asked for a person" }).waitFor();
    assert.ok(await console_.locator("#claim").isVisible(), "Claim is offered");
    assert.ok(await console_.locator("#followed").isHidden(), "no 'Mark followed up' beside Claim");
    assert.doesNotMatch(await why.innerText(), /Offline message/);
    await console_.locator("#claim").click();
    await console_.locator("#mine .item").first().waitFor();
    await console_.reload();
    await console_.locator("#mine .item").first().click();
    await why.filter({ hasText: "Why the bot let go: the visitor asked for a person" }).waitFor();
    assert.ok(await console_.locator("#followed").isHidden(), "still no 'Mark followed up' on the live chat");
  } finally {
    await agentContext.close();
    await context.close();
    server.stop();
  }
});

test("the console counts down to an unanswered chat's return, and the chat keeps why it came", async () => {
  const server = await startServer(["--assign-timeout-seconds", "4", "--reoffer-after-seconds", "1"]);
  const context = await browser.newContext();
  const agentContext = await browser.newContext();
  try {
    const console_ = await consolePage(agentContext, server.base, "ann");
    await console_.locator("#queue .empty").waitFor();
    const page = await openWidget(context, server.base);
    await page.locator(".human").click();
    const due = console_.locator("#mine .item .due");
    await due.filter({ hasText: /answer within 0:0[1-4]/ }).waitFor();
    await console_.screenshot({ path: join(SHOTS, "console-answer-countdown.png") });
    // Not answered: it goes back, then (nobody else online) comes back to Ann, still "asked".
    await page.locator(".notice", { hasText: "you keep your place in line" }).waitFor({ timeout: 15_000 });
    await page.locator(".notice", { hasText: "Ann will be with you shortly" }).nth(1).waitFor({ timeout: 15_000 });
    await console_.locator("#mine .item .badge", { hasText: "asked" }).waitFor();
    assert.equal(await console_.locator("#mine .item .badge", { hasText: "not answered" }).count(), 0);
    await console_.locator("#mine .item").first().click();
    await console_.locator("#log .ev.sys", { hasText: "Back in the queue: the assigned agent did not answer" }).waitFor();
    assert.equal(await page.locator(".notice", { hasText: "someone else" }).count(), 0, "never 'someone else' when it is the same person");
    // Ann answers: the countdown stops.
    await console_.locator("#text").fill("Sorry, I am here now");
    await console_.locator("#text").press("Enter");
    await page.locator(".agent .msg", { hasText: "Sorry, I am here now" }).waitFor();
    await console_.locator("#mine .item .due").waitFor({ state: "detached" });
  } finally {
    await agentContext.close();
    await context.close();
    server.stop();
  }
});

test("a place in line that grows says why", async () => {
  const server = await startServer(["--auto-assign", "false"]);
  const first = await browser.newContext();
  const second = await browser.newContext();
  const ann = await agent(server.base);
  try {
    const a = await openWidget(first, server.base);
    await a.locator(".human").click();
    const queue = await ann.until("f.type === 'queue' && f.items.length === 1");
    const conversation = queue.items[0].conversation;
    await ann.send({ type: "claim", conversation });
    await a.locator(".notice", { hasText: "Ann will be with you shortly" }).waitFor();
    const b = await openWidget(second, server.base);
    await b.locator(".human").click();
    await b.locator(".status", { hasText: "#1 in line" }).waitFor();
    // Ann puts the first visitor back: they were waiting before, so they go ahead.
    await ann.send({ type: "transfer", conversation });
    await b.locator(".status", { hasText: "#2 in line" }).waitFor();
    await b.locator(".notice", { hasText: "You are now #2 in line: someone who was waiting before you is back in line" }).waitFor();
  } finally {
    await ann.close();
    await first.close();
    await second.close();
    server.stop();
  }
});
