// The widget in a real browser against the real binary (see harness.mjs). The agent side is a
// real agent login and console websocket, opened from a second browser context.
//
//   cd tests/browser && npm ci && node --test     (scripts/test does this)

import { test } from "node:test";
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { join } from "node:path";
import { REPO, SHOTS, WAIT, browser, startServer, openWidget, ask, agent, seriousViolations, visibility } from "./harness.mjs";

test("a visitor asks on the demo page, sees the answer, and keeps the conversation across a reload", async () => {
  const server = await startServer();
  const context = await browser.newContext();
  try {
    const page = await openWidget(context, server.base);
    await ask(page, "how do I reset my password");
    const answer = page.locator(".bot .msg").last();
    await answer.waitFor({ timeout: WAIT });
    assert.match(await answer.innerText(), /password/i);
    await page.screenshot({ path: join(SHOTS, "widget-answer.png") });

    await page.reload();
    // The panel was open: it opens again by itself.
    await page.locator(".bot .msg").first().waitFor({ timeout: WAIT });
    await page.waitForTimeout(300); // anything doubled would have arrived by now
    assert.deepEqual(await page.locator(".me .msg").allInnerTexts(), ["how do I reset my password"]);
    assert.equal(await page.locator(".bot .msg").count(), 1, "the answer shows once after the reload");
  } finally {
    await context.close();
    server.stop();
  }
});

test("talk to a person: the visitor sees the queue position, then the agent's reply with their name; HTML stays text", async () => {
  const server = await startServer(["--auto-assign", "false"]);
  const context = await browser.newContext();
  const ann = await agent(server.base);
  try {
    const page = await openWidget(context, server.base);
    const payload = '<img src=x onerror="window.__xss=1">';
    await ask(page, payload);
    await page.locator(".bot .msg").first().waitFor({ timeout: WAIT });
    await page.locator(".human").click();
    await page.locator(".status", { hasText: "#1 in line" }).waitFor({ timeout: WAIT });
    await page.screenshot({ path: join(SHOTS, "widget-queued.png") });

    const queue = await ann.until("f.type === 'queue' && f.items.length === 1");
    const conversation = queue.items[0].conversation;
    assert.equal(queue.items[0].first_message, payload);
    await ann.send({ type: "claim", conversation });
    await page.locator(".notice", { hasText: "Ann will be with you shortly" }).waitFor({ timeout: WAIT });
    await ann.send({ type: "reply", conversation, text: 'Hi, I am Ann <script>window.__xss=2</script>' });
    const reply = page.locator(".agent .msg", { hasText: "Hi, I am Ann" });
    await reply.waitFor({ timeout: WAIT });
    assert.equal(await reply.innerText(), "Hi, I am Ann <script>window.__xss=2</script>");
    assert.match(await page.locator(".agent .meta").last().innerText(), /^Ann · /, "signed with the agent's name");
    assert.equal(await page.locator(".me .msg").first().innerText(), payload, "the visitor's HTML is shown as text");
    assert.equal(await page.evaluate(() => window.__xss), undefined, "no payload ran");
    await page.screenshot({ path: join(SHOTS, "widget-agent-reply.png") });
  } finally {
    await ann.close();
    await context.close();
    server.stop();
  }
});

test("clarify options are buttons, and a pick gets its answer; on a phone the panel is full screen", async () => {
  const server = await startServer();
  // A phone that asks for reduced motion: the panel must be in place at once, no animation.
  const context = await browser.newContext({ viewport: { width: 375, height: 740 }, reducedMotion: "reduce" });
  try {
    const page = await openWidget(context, server.base);
    const box = await page.locator(".panel").boundingBox();
    assert.deepEqual([box.x, box.y, box.width, box.height].map(Math.round), [0, 0, 375, 740], "full screen below 640 px");
    await ask(page, "late");
    const option = page.locator(".bot .acts button").first();
    await option.waitFor();
    const title = await option.innerText();
    await option.click();
    await page.locator(".me .msg", { hasText: title }).waitFor();
    await page.locator(".row.bot").nth(1).waitFor();
    assert.equal(await page.locator(".bot .msg").count(), 2, "the clarify question and the answer");
    await page.screenshot({ path: join(SHOTS, "widget-phone.png") });
  } finally {
    await context.close();
    server.stop();
  }
});

test("with nobody online the visitor leaves a message; a closed chat asks for a rating", async () => {
  const server = await startServer(["--auto-assign", "false"]);
  const context = await browser.newContext();
  try {
    const page = await openWidget(context, server.base);
    await page.locator(".human").click();
    const form = page.locator("form.offline");
    await form.waitFor();
    await form.locator("input").fill("ana@example.com");
    await form.locator("textarea").fill("Please call me about my refund");
    await form.locator("button").click();
    await page.locator(".notice", { hasText: "we'll reply to ana@example.com" }).waitFor();
    assert.equal(await page.locator("form.offline").count(), 0);

    const ann = await agent(server.base);
    await page.locator(".human").click();
    const queue = await ann.until("f.type === 'queue' && f.items.length === 1");
    const conversation = queue.items[0].conversation;
    await ann.send({ type: "claim", conversation });
    await page.locator(".notice", { hasText: "Ann will be with you shortly" }).waitFor();
    await ann.send({ type: "close", conversation, resolution: "solved" });
    const rating = page.locator("form.rating");
    await rating.waitFor();
    await rating.locator("button[aria-label='5 of 5']").click();
    await rating.locator("textarea").fill("Quick and kind");
    await rating.locator("button[type=submit]").click();
    await page.locator(".notice", { hasText: "Thank you!" }).waitFor();
    const rated = await ann.until("f.type === 'conversation_event' && f.event.kind === 'rating'");
    assert.equal(rated.event.score, 5);
    assert.equal(rated.event.comment, "Quick and kind");
    await ann.close();
  } finally {
    await context.close();
    server.stop();
  }
});

/** A site on another origin (127.0.0.2) whose page embeds the widget from `site.widgetFrom`. */
async function foreignSite() {
  const { createServer } = await import("node:http");
  const site = { widgetFrom: "" };
  const server = createServer((_, res) => {
    res.writeHead(200, { "Content-Type": "text/html" });
    const settings = site.settings ? `<script>window.frontdeskSettings = ${JSON.stringify(site.settings)};</script>` : "";
    res.end(`<!doctype html><title>Shop</title><p>Another site</p>${settings}<script src="${site.widgetFrom}/widget.js" defer></script>`);
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.2", resolve));
  site.origin = `http://127.0.0.2:${server.address().port}`;
  site.close = () => server.close();
  return site;
}

test("a site on another origin embeds the widget when allowed, and gets a console error when not", async () => {
  const site = await foreignSite();
  const allowed = await startServer(["--allowed-origins", site.origin]);
  const refused = await startServer();
  const context = await browser.newContext();
  try {
    site.widgetFrom = allowed.base;
    const page = await context.newPage();
    page.setDefaultTimeout(WAIT);
    await page.goto(site.origin + "/");
    await page.locator(".launch").click();
    await ask(page, "how do I reset my password");
    await page.locator(".row.bot").first().waitFor();
    assert.match(await page.locator(".bot .msg").last().innerText(), /password/i);

    // A server that does not list the site: a clear console error, and no broken panel.
    site.widgetFrom = refused.base;
    const errors = [];
    page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
    await page.goto(site.origin + "/");
    await page.waitForFunction(() => true);
    const deadline = Date.now() + WAIT;
    while (!errors.some((e) => e.includes("may not use the chat")) && Date.now() < deadline) {
      await page.waitForTimeout(100);
    }
    assert.ok(errors.some((e) => e.includes("may not use the chat")), JSON.stringify(errors));
    assert.equal(await page.locator("[data-frontdesk]").count(), 0, "no panel that cannot connect");
  } finally {
    await context.close();
    site.close();
    allowed.stop();
    refused.stop();
  }
});

test("the server restarts mid-conversation (Redis store): nothing typed is lost or shown twice", async () => {
  const redis = process.env.FRONTDESK_TEST_REDIS_URL;
  assert.ok(redis, "this test needs a Redis: set FRONTDESK_TEST_REDIS_URL (scripts/test starts one)");
  const store = ["--redis-url", redis, "--redis-prefix", "fdbrowser:" + Math.random().toString(16).slice(2)];
  let server = await startServer(store);
  const context = await browser.newContext();
  try {
    const page = await openWidget(context, server.base);
    await ask(page, "how do I reset my password");
    await page.locator(".row.bot").first().waitFor();

    await server.stopped();
    await page.locator(".status", { hasText: "Reconnecting" }).waitFor();
    await ask(page, "where is my order?");
    await page.locator(".pending").waitFor(); // kept, not lost, while the server is away
    server = await startServer(store, server.port);

    await page.locator(".row.bot").nth(1).waitFor({ timeout: 20_000 });
    await page.waitForTimeout(500); // anything doubled would have arrived by now
    assert.deepEqual(await page.locator(".me .msg").allInnerTexts(), ["how do I reset my password", "where is my order?"]);
    assert.equal(await page.locator(".bot .msg").count(), 2);
    assert.equal(await page.locator(".pending").count(), 0);
    await page.reload(); // the panel stays open
    await page.locator(".row.bot").nth(1).waitFor();
    assert.equal(await page.locator(".me .msg").count(), 2, "after a reload too");
  } finally {
    await context.close();
    server.stop();
  }
});

test("a signed-in visitor's earlier conversation reaches the agent; a forged signature is refused", async () => {
  const secret = "browser-test-identity-secret";
  const sign = (id) => createHmac("sha256", secret).update(id).digest("hex");
  const site = await foreignSite();
  const server = await startServer(["--allowed-origins", site.origin, "--identity-secret", secret, "--auto-assign", "false"]);
  site.widgetFrom = server.base;
  const laptop = await browser.newContext();
  const phone = await browser.newContext();
  const stranger = await browser.newContext();
  const ann = await agent(server.base);
  try {
    // Monday on the laptop.
    site.settings = { visitor: { id: "user-42", name: "Ana", hash: sign("user-42") } };
    let page = await laptop.newPage();
    page.setDefaultTimeout(WAIT);
    await page.goto(site.origin + "/");
    await page.locator(".launch").click();
    await ask(page, "how long does a refund take?");
    await page.locator(".row.bot").first().waitFor();

    // Someone pretending to be user-42 without the site's signature: refused, chats as a guest.
    site.settings = { visitor: { id: "user-42", hash: sign("user-43") } };
    const fake = await stranger.newPage();
    fake.setDefaultTimeout(WAIT);
    const warnings = [];
    fake.on("console", (m) => warnings.push(m.text()));
    await fake.goto(site.origin + "/");
    await fake.locator(".launch").click();
    await ask(fake, "hello");
    await fake.locator(".row.bot").first().waitFor();
    assert.ok(warnings.some((w) => w.includes("identity_refused")), JSON.stringify(warnings));

    // Tuesday on the phone: the same person, signed by the site.
    site.settings = { visitor: { id: "user-42", name: "Ana", hash: sign("user-42") } };
    page = await phone.newPage();
    page.setDefaultTimeout(WAIT);
    await page.goto(site.origin + "/");
    await page.locator(".launch").click();
    await page.locator(".human").click();
    const queue = await ann.until("f.type === 'queue' && f.items.length === 1");
    assert.equal(queue.items[0].visitor.user_id, "user-42");
    await ann.send({ type: "open", conversation: queue.items[0].conversation });
    const header = await ann.until(`f.type === 'conversation' && f.conversation === '${queue.items[0].conversation}'`);
    assert.equal(header.earlier.length, 1, "the laptop conversation, and not the stranger's");
    assert.equal(header.earlier[0].first_message, "how long does a refund take?");
  } finally {
    await ann.close();
    await laptop.close();
    await phone.close();
    await stranger.close();
    site.close();
    server.stop();
  }
});

test("the widget works from the keyboard alone and stays within its size budget", async () => {
  const { gzipSync } = await import("node:zlib");
  const { readFileSync, readdirSync } = await import("node:fs");
  // The loader and every module it brings in, as a site's visitor downloads them.
  const files = readdirSync(join(REPO, "widget")).filter(f => f === "widget.js" || /^widget-.*\.js$/.test(f));
  assert.ok(files.length > 5, `${files}`);
  const gz = files.reduce((sum, f) => sum + gzipSync(readFileSync(join(REPO, "widget", f))).length, 0);
  assert.ok(gz <= 25 * 1024, `the widget is ${gz} bytes gzipped (budget 25 KB)`);

  const server = await startServer();
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    page.setDefaultTimeout(WAIT);
    await page.goto(server.base + "/");
    await page.locator(".launch").focus();
    await page.keyboard.press("Enter");
    assert.equal(await page.locator(".panel").isVisible(), true);
    assert.equal(await page.evaluate(() => document.querySelector("[data-frontdesk]").shadowRoot.activeElement.tagName), "TEXTAREA", "focus moves to the message box");
    await page.keyboard.type("how do I reset my password");
    await page.keyboard.press("Enter");
    await page.locator(".row.bot").first().waitFor();
    assert.equal(await page.locator(".log").getAttribute("aria-live"), "polite", "new messages are announced");
    await page.keyboard.press("Escape");
    assert.equal(await page.locator(".panel").isVisible(), false);
    assert.equal(await page.evaluate(() => document.querySelector("[data-frontdesk]").shadowRoot.activeElement.className), "launch", "focus returns to the launcher");
  } finally {
    await context.close();
    server.stop();
  }
});

test("HTML in a knowledge-base answer reaches the page inert; safe links stay links", async () => {
  const server = await startServer();
  const context = await browser.newContext();
  try {
    const page = await openWidget(context, server.base);
    await ask(page, "do you sell zebra stickers");
    const answer = page.locator(".bot .msg", { hasText: "Not yet" });
    await answer.waitFor();
    assert.equal(await answer.locator("script, img").count(), 0, "raw HTML is dropped");
    const hrefs = await answer.locator("a").evaluateAll((as) => as.map((a) => a.getAttribute("href")));
    assert.ok(!hrefs.some((h) => h && h.startsWith("javascript:")), JSON.stringify(hrefs));
    assert.ok(hrefs.includes("https://example.com/shop"), JSON.stringify(hrefs));
    await answer.locator("a").first().click({ trial: true }).catch(() => {});
    assert.equal(await page.evaluate(() => window.__xss), undefined, "nothing ran");
  } finally {
    await context.close();
    server.stop();
  }
});

test("a Spanish visitor gets the widget, the answers and the bot's own words in Spanish", async () => {
  const server = await startServer();
  const context = await browser.newContext({ locale: "es-ES" });
  try {
    const page = await openWidget(context, server.base);
    const input = page.locator(".compose textarea");
    assert.equal(await input.getAttribute("placeholder"), "Escribe tu pregunta…");
    assert.equal(await page.locator(".human").innerText(), "Hablar con una persona");
    assert.equal(await page.locator(".launch").getAttribute("aria-label"), "Abrir chat");
    await ask(page, "¿Hacen envíos a México?");
    const answer = page.locator(".bot .msg").last();
    await answer.waitFor({ timeout: WAIT });
    assert.match(await answer.innerText(), /Enviamos a todos los países de la UE/);
    assert.equal((await visibility(answer)).inside, true, "the answer is on screen");
    assert.match(await page.locator(".vote").last().innerText(), /¿Te ha servido\?/);
    // Keyboard: Tab from the message box reaches the send button, labelled in Spanish.
    await input.focus();
    await page.keyboard.press("Tab");
    assert.equal(await page.evaluate(() => document.activeElement.shadowRoot?.activeElement?.textContent
      ?? document.activeElement.textContent), "Enviar");
    await page.screenshot({ path: join(SHOTS, "widget-spanish.png") });
    assert.deepEqual(await seriousViolations(page), []);
  } finally {
    await context.close();
    server.stop();
  }
});
