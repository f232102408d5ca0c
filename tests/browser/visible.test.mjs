// What a visitor can see in the widget: every new message inside the visible part of the
// transcript, the rating when an agent closes, an honest unread badge, the panel as they left it,
// one vote per answer, readable colours whatever the site's brand colour, links that keep the shop
// open, and nothing serious for axe-core. Each assertion measures the page (boxes, computed
// colours), not only the DOM.

import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  SHOTS, WAIT, browser, startServer, openWidget, ask, agent,
  seriousViolations, violations, visibility, contrastRatio, consolePage,
} from "./harness.mjs";

const QUESTIONS = [
  "how do I reset my password", "can I pay with klarna", "how much is shipping",
  "do you ship to switzerland", "what is your return policy", "how long does a refund take",
  "do you have gift cards", "how can i track my parcel",
];

for (const [name, viewport] of [["desktop", { width: 1280, height: 800 }], ["phone", { width: 390, height: 844 }]]) {
  test(`every new answer is wholly in view after it arrives (${name})`, async () => {
    const server = await startServer();
    const context = await browser.newContext({ viewport });
    try {
      const page = await openWidget(context, server.base);
      for (const [i, question] of QUESTIONS.entries()) {
        await ask(page, question);
        await page.waitForFunction((n) => {
          const host = document.querySelector("[data-frontdesk]");
          return host.shadowRoot.querySelectorAll(".bot .msg").length >= n;
        }, i + 1, { timeout: WAIT });
        const seen = await visibility(page.locator(".row").last());
        assert.ok(seen.inside, `answer to "${question}": ${seen.below} px below the visible transcript`);
      }
      await page.screenshot({ path: join(SHOTS, `widget-newest-in-view-${name}.png`) });
      assert.deepEqual(await seriousViolations(page), [], "axe-core: serious or critical");
    } finally {
      await context.close();
      server.stop();
    }
  });
}

test("an agent's reply is in view; their close, with the panel closed, shows a badge and opens onto the rating", async () => {
  const server = await startServer(["--auto-assign", "false"]);
  const context = await browser.newContext({ viewport: { width: 390, height: 844 } });
  const ann = await agent(server.base);
  try {
    const page = await openWidget(context, server.base);
    for (const question of QUESTIONS.slice(0, 4)) {
      await ask(page, question);
      await page.locator(".bot .msg", { hasText: /./ }).nth(QUESTIONS.indexOf(question)).waitFor();
    }
    await page.locator(".human").click();
    const queue = await ann.until("f.type === 'queue' && f.items.length === 1");
    const conversation = queue.items[0].conversation;
    await ann.send({ type: "claim", conversation });
    await page.locator(".notice", { hasText: "Ann will be with you shortly" }).waitFor();
    await ann.send({ type: "reply", conversation, text: "Hi, Ann here. Anything else?" });
    const reply = page.locator(".agent .msg", { hasText: "Ann here" });
    await reply.waitFor();
    assert.ok((await visibility(reply)).inside, "the agent's reply is in view");

    // The visitor closes the panel; the agent closes the chat: the badge and the launcher's
    // name must say something happened, and opening shows the rating request in view.
    await page.locator(".x").click();
    await ann.send({ type: "close", conversation, resolution: "solved" });
    const badge = page.locator(".badge");
    await badge.waitFor({ state: "visible" });
    assert.match(await badge.innerText(), /^[1-9]/);
    assert.match(await page.locator(".launch").getAttribute("aria-label"), /unread/);
    await page.screenshot({ path: join(SHOTS, "widget-unread-after-close.png") });
    await page.locator(".launch").click();
    const stars = page.locator(".rating .stars");
    await stars.waitFor();
    const seen = await visibility(stars);
    assert.ok(seen.inside, `the rating stars: ${seen.below} px below the visible transcript`);
    // Targets of 24 px or more, apart; picked stars look different, not only in hue.
    const boxes = await stars.locator("button").evaluateAll((bs) => bs.map((b) => b.getBoundingClientRect().toJSON()));
    for (const [i, b] of boxes.entries()) {
      assert.ok(b.width >= 24 && b.height >= 24, `star ${i + 1}: ${b.width}x${b.height}`);
      if (i) assert.ok(b.left - boxes[i - 1].right >= 4, `stars ${i} and ${i + 1} are apart`);
    }
    // Send without a star says what is missing (it did nothing).
    await page.locator(".rating textarea").fill("Quick and kind");
    await page.locator(".rating button[type=submit]").click();
    const missing = page.locator(".rating .said", { hasText: "Choose from 1 to 5 stars" });
    await missing.waitFor();
    assert.ok((await visibility(missing)).inside);
    await stars.locator("button").nth(3).click();
    const glyphs = await stars.locator("button").allInnerTexts();
    assert.deepEqual(glyphs, ["★", "★", "★", "★", "☆"], "picked stars are filled, the rest outlined");
    await page.screenshot({ path: join(SHOTS, "widget-rating-in-view.png") });
    await page.locator(".rating button[type=submit]").click();
    await page.locator(".notice", { hasText: "Thank you!" }).waitFor();
  } finally {
    await ann.close();
    await context.close();
    server.stop();
  }
});

test("a reload keeps the panel as it was and counts nothing already read as unread", async () => {
  const server = await startServer();
  const context = await browser.newContext();
  try {
    const page = await openWidget(context, server.base);
    for (const question of QUESTIONS.slice(0, 3)) {
      await ask(page, question);
    }
    await page.locator(".bot .msg").nth(2).waitFor();
    await page.reload();
    await page.locator(".bot .msg").nth(2).waitFor({ state: "visible" });
    assert.ok(await page.locator(".panel").evaluate((p) => p.classList.contains("open")), "still open after a reload");
    assert.ok(await page.locator(".badge").isHidden(), "no unread badge for read answers");

    await page.locator(".x").click();
    await page.reload();
    await page.locator(".launch").waitFor();
    await page.waitForTimeout(500); // the transcript replay would have counted by now
    assert.ok(await page.locator(".panel").isHidden(), "still closed after a reload");
    assert.ok(await page.locator(".badge").isHidden(), `badge: ${await page.locator(".badge").innerText()}`);
    assert.equal(await page.locator(".launch").getAttribute("aria-label"), "Open chat");
  } finally {
    await context.close();
    server.stop();
  }
});

test("an answer takes one vote: after a reload the question is gone, and the buttons say what they mean", async () => {
  const server = await startServer();
  const context = await browser.newContext();
  try {
    const page = await openWidget(context, server.base);
    await ask(page, "how do I reset my password");
    const yes = page.locator(".vote button").first();
    await yes.waitFor();
    assert.match(await yes.getAttribute("aria-label"), /helped/);
    await yes.click();
    await page.locator(".meta", { hasText: "Thanks for the feedback" }).waitFor();
    await page.reload();
    await page.locator(".bot .msg").first().waitFor({ state: "visible" });
    await page.locator(".meta", { hasText: "Thanks for the feedback" }).waitFor();
    assert.equal(await page.locator(".vote").count(), 0, "no second vote offered");
    // Small talk is not an answer to rate.
    await ask(page, "thx");
    await page.locator(".bot .msg").nth(1).waitFor();
    await page.waitForTimeout(200);
    assert.equal(await page.locator(".vote").count(), 0, "no vote asked for a thank-you");
  } finally {
    await context.close();
    server.stop();
  }
});

test("a light brand colour keeps every text readable (WCAG AA)", async () => {
  const server = await startServer();
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    page.setDefaultTimeout(WAIT);
    // The demo page sets its own settings; this site's brand colour is a light yellow.
    await page.addInitScript(() => {
      let settings;
      Object.defineProperty(window, "frontdeskSettings", {
        get: () => settings,
        set: (v) => { settings = { ...v, color: "#ffd400" }; },
      });
    });
    await page.goto(server.base + "/");
    await page.locator(".launch").click();
    await ask(page, "late");
    await page.locator(".bot .msg").first().waitFor();
    await page.screenshot({ path: join(SHOTS, "widget-light-brand-colour.png") });
    await page.locator(".bot .acts button").first().waitFor();
    const pairs = {
      "header title on the header": [".title", ".head"],
      "talk to a person on the header": [".human", ".head"],
      "the visitor's bubble": [".me .msg", ".me .msg"],
      "an option button": [".bot .acts button", ".bot .acts button"],
      "the send button": [".compose button", ".compose button"],
    };
    for (const [what, [text, background]] of Object.entries(pairs)) {
      const fg = await page.locator(text).first().evaluate((n) => getComputedStyle(n).color);
      const bg = await page.locator(background).first().evaluate((n) => getComputedStyle(n).backgroundColor);
      const ratio = contrastRatio(fg, bg);
      assert.ok(ratio >= 4.5, `${what}: ${fg} on ${bg} is ${ratio.toFixed(2)}:1`);
    }
    // The launcher stays findable on a white page: a ring of 3:1 or more around the light colour.
    const ring = await page.locator(".launch").evaluate((n) => getComputedStyle(n).boxShadow.match(/rgba?\([^)]*\)/)[0]);
    assert.ok(contrastRatio(ring, "rgb(255, 255, 255)") >= 3, `the launcher's ring ${ring} on white`);
    await page.screenshot({ path: join(SHOTS, "widget-light-brand-colour.png") });
  } finally {
    await context.close();
    server.stop();
  }
});

test("links in answers open in a new tab; talk to a person leaves the header once asked", async () => {
  const server = await startServer(["--auto-assign", "false"]);
  const context = await browser.newContext();
  const ann = await agent(server.base);
  try {
    const page = await openWidget(context, server.base);
    await ask(page, "do you sell zebra stickers");
    const link = page.locator(".bot .msg a", { hasText: "our shop" });
    await link.waitFor();
    assert.equal(await link.getAttribute("target"), "_blank");
    assert.match(await link.getAttribute("rel"), /noopener/);
    await page.locator(".human").click();
    await page.locator(".status", { hasText: "in line" }).waitFor();
    assert.ok(await page.locator(".human").isHidden(), "no second request while waiting");
  } finally {
    await ann.close();
    await context.close();
    server.stop();
  }
});

test("a message over the limit says so on its bubble, and a burst of quick messages all arrive", async () => {
  const server = await startServer();
  const context = await browser.newContext();
  try {
    const page = await openWidget(context, server.base);
    // Near the limit the composer says what is left; over it, how much too long, and Enter
    // sends nothing (it used to be refused only after sending). The box grows with the text.
    const box = page.locator(".compose textarea");
    const before = (await box.boundingBox()).height;
    await box.fill("x".repeat(3600));
    const left = page.locator(".compose .left");
    await left.filter({ hasText: /characters left/ }).waitFor();
    assert.ok((await box.boundingBox()).height > before + 40, "the box grew with the text");
    await box.fill("x".repeat(5000));
    await left.filter({ hasText: /too many/ }).waitFor();
    assert.ok((await visibility(left)).inside, "the counter is in view");
    await box.press("Enter");
    assert.equal(await page.locator(".row.me").count(), 0, "nothing was sent");
    assert.equal((await box.inputValue()).length, 5000, "the text is kept to be shortened");
    await page.screenshot({ path: join(SHOTS, "widget-too-long.png") });
    await box.fill("");

    // Fourteen quick messages: more than the rate limit's burst. None is left behind.
    for (let i = 1; i <= 14; i++) await ask(page, `quick ${i}`);
    await page.waitForFunction(() => {
      const root = document.querySelector("[data-frontdesk]").shadowRoot;
      return [...root.querySelectorAll(".me:not(.pending):not(.failed) .msg")]
        .filter((m) => m.textContent.startsWith("quick ")).length === 14;
    }, null, { timeout: 30_000 });
    assert.equal(await page.locator(".row.pending").count(), 0);

    await page.reload();
    await page.locator(".bot .msg").first().waitFor({ state: "visible" });
    assert.equal(await page.locator(".row.pending, .row.failed").count(), 0, "nothing refused is resent after a reload");
    const first = await page.locator(".log > *").first().getAttribute("class");
    assert.equal(first, "notice", "the greeting stays on top");
  } finally {
    await context.close();
    server.stop();
  }
});

test("auto-assignment tells the visitor only what is true: who will answer, and that someone else is found when they do not", async () => {
  const server = await startServer(["--assign-timeout-seconds", "2"]);
  const context = await browser.newContext();
  const ann = await agent(server.base);
  try {
    const page = await openWidget(context, server.base);
    await page.locator(".human").click();
    await page.locator(".notice", { hasText: "Ann will be with you shortly" }).waitFor();
    // Ann never answers: the router takes the chat back after the timeout.
    await page.locator(".notice", { hasText: "Sorry for the wait" }).waitFor({ timeout: 15_000 });
    assert.equal(await page.locator(".notice", { hasText: "joined" }).count(), 0, "nobody is said to have joined");
    await page.screenshot({ path: join(SHOTS, "widget-requeued.png") });
  } finally {
    await ann.close();
    await context.close();
    server.stop();
  }
});

test("waiting times move on by themselves: the visitor's status line and the console's queue", async () => {
  const server = await startServer(["--auto-assign", "false"]);
  const context = await browser.newContext();
  const ann = await agent(server.base);
  try {
    const page = await context.newPage();
    page.setDefaultTimeout(WAIT);
    await page.clock.install();
    await page.goto(server.base + "/");
    await page.locator(".launch").click();
    await page.locator(".human").click();
    await page.locator(".status", { hasText: "#1 in line" }).waitFor();

    const agentContext = await browser.newContext();
    const console_ = await consolePage(agentContext, server.base, "bob", { clock: true });
    const wait = console_.locator("#queue .item .wait");
    await wait.waitFor();
    assert.match(await wait.innerText(), / s$/);

    await page.clock.fastForward("02:30");
    await console_.clock.fastForward("02:30");
    await page.locator(".status", { hasText: "waiting 2 min" }).waitFor();
    await console_.locator("#queue .item .wait", { hasText: /^[23] min$/ }).waitFor();
    await agentContext.close();
  } finally {
    await ann.close();
    await context.close();
    server.stop();
  }
});

test("the console explains in one line and makes an offline message easy to answer", async () => {
  const server = await startServer();
  const context = await browser.newContext();
  try {
    // Nobody is online: the visitor asks, then leaves a message.
    const page = await openWidget(context, server.base);
    await ask(page, "how do I reset my password");
    await page.locator(".bot .msg").first().waitFor();
    await page.locator(".human").click();
    const form = page.locator("form.offline");
    await form.waitFor();
    await form.locator("input").fill("ana@example.com");
    await form.locator("textarea").fill("Please call me back about my order");
    await form.locator("button").click();
    await page.locator(".notice", { hasText: "Message sent" }).waitFor();

    // Bypassing the console's CSP only so that axe-core can be injected.
    const agentContext = await browser.newContext({ bypassCSP: true });
    const console_ = await consolePage(agentContext, server.base, "ann");
    await console_.locator("#followups .item").first().click();
    const why = console_.locator("#why");
    await why.locator("a").waitFor();
    assert.equal(await why.locator("a").getAttribute("href"), "mailto:ana@example.com");
    assert.doesNotMatch(await why.innerText(), /—/, "no empty reason");
    assert.equal(await console_.locator("#visitor a[href='mailto:ana@example.com']").count(), 1, "the e-mail is in the visitor panel");
    const explain = console_.locator("#log .ev.bot .explain").first();
    await explain.waitFor();
    assert.match(await explain.innerText(), /^FAQ reset-password · \d+% sure · matched: /);
    assert.equal(await console_.locator("#log .ev.bot pre:visible").count(), 0, "details are a click away");
    await console_.screenshot({ path: join(SHOTS, "console-offline-message.png") });
    assert.deepEqual(await seriousViolations(console_), [], "axe-core on the console");
    await agentContext.close();
  } finally {
    await context.close();
    server.stop();
  }
});

test("a transfer needs its button, and a chat can go back to the queue with no teams; the visitor is told", async () => {
  const server = await startServer(["--auto-assign", "false"]);
  const context = await browser.newContext();
  const agentContext = await browser.newContext();
  try {
    const console_ = await consolePage(agentContext, server.base, "ann");
    await console_.locator("#queue .empty").waitFor();

    const page = await openWidget(context, server.base);
    await ask(page, "my parcel is late again");
    await page.locator(".bot .msg").first().waitFor();
    await page.locator(".human").click();
    await console_.locator("#queue .item").first().click();
    await console_.locator("#claim").click();
    // My chats tell visitors apart by what they said last, and when.
    await console_.locator("#mine .item .first", { hasText: /\d{2}.* · my parcel is late again$/ }).waitFor();
    await page.locator(".notice", { hasText: "Ann will be with you shortly" }).waitFor();

    await console_.selectOption("#transfer", "queue");
    await console_.waitForTimeout(500);
    assert.equal(await console_.locator("#mine .item").count(), 1, "choosing a target alone transfers nothing");
    await console_.locator("#dotransfer").click();
    await page.locator(".notice", { hasText: "Passing you to a colleague" }).waitFor();
    await console_.locator("#queue .item").first().waitFor();
    await console_.locator("#mine .empty").waitFor();
  } finally {
    await agentContext.close();
    await context.close();
    server.stop();
  }
});

test("a refused action says why on the chat it concerns, and a refused reply keeps its text until dismissed", async () => {
  const server = await startServer(["--auto-assign", "false"]);
  const visitors = [await browser.newContext(), await browser.newContext()];
  // Bypassing the console's CSP only so that axe-core can be injected.
  const agentContext = await browser.newContext({ bypassCSP: true, viewport: { width: 1280, height: 800 } });
  try {
    // Cy (one chat at a time) is online; two visitors ask for a person.
    let console_ = await consolePage(agentContext, server.base, "cy");
    await console_.locator("#queue .empty").waitFor();
    for (const [i, context] of visitors.entries()) {
      const page = await openWidget(context, server.base);
      await ask(page, i ? "my second parcel is lost" : "my first parcel is lost");
      await page.locator(".bot .msg").first().waitFor();
      await page.locator(".human").click();
      await page.locator(".notice", { hasText: "Waiting for a person" }).waitFor();
    }
    await console_.locator("#queue .item").nth(1).waitFor();
    await console_.locator("#queue .item", { hasText: "my first parcel" }).click();
    await console_.locator("#claim").click();
    await console_.locator("#mine .item").first().waitFor();

    // At capacity: claiming the second is refused, on that chat, until dismissed.
    await console_.locator("#queue .item", { hasText: "my second parcel" }).click();
    await console_.locator("#claim").click();
    const banner = console_.locator("#refusals .refusal");
    await banner.waitFor();
    assert.match(await banner.innerText(), /Not claimed: no free capacity/);
    await console_.waitForTimeout(5000);
    const box = await banner.boundingBox();
    assert.ok(box && box.y >= 0 && box.y + box.height <= 800, "the refusal is still in view after 5 s");

    // A reply to a chat that is not hers is refused on its bubble, with its text.
    await console_.locator("#text").fill("Hello from Cy");
    await console_.locator("#text").press("Enter");
    const bubble = console_.locator("#log .ev.refused");
    await bubble.waitFor();
    assert.match(await bubble.innerText(), /Reply not sent: this chat is not assigned to you; claim it to reply/);
    assert.equal(await console_.locator("#refusals .refusal").count(), 1, "typing in a chat not hers is not an error");
    assert.match(await bubble.locator(".body").innerText(), /Hello from Cy/);
    await console_.screenshot({ path: join(SHOTS, "console-refused.png") });
    assert.deepEqual(await seriousViolations(console_), [], "axe-core on the console");

    // A reload keeps the refused reply (nothing written is lost) and does not resend it.
    await console_.reload();
    await console_.locator("#queue .item", { hasText: "my second parcel" }).click();
    await bubble.waitFor();
    await console_.locator("#refusals .refusal", { hasText: "Not claimed" }).waitFor({ state: "detached" });
    await bubble.locator("button", { hasText: "Edit again" }).click();
    assert.equal(await console_.locator("#text").inputValue(), "Hello from Cy", "the text is back in the composer");
    assert.equal(await bubble.count(), 0, "and the refused bubble is gone");
  } finally {
    await agentContext.close();
    for (const c of visitors) await c.close();
    server.stop();
  }
});

test("a console reload reopens the chat that was open and counts as unread only what arrived since", async () => {
  const server = await startServer(["--auto-assign", "false"]);
  const visitors = [await browser.newContext(), await browser.newContext()];
  const agentContext = await browser.newContext();
  try {
    const console_ = await consolePage(agentContext, server.base, "ann");
    await console_.locator("#queue .empty").waitFor();
    const pages = [];
    for (const [i, context] of visitors.entries()) {
      const page = await openWidget(context, server.base);
      await ask(page, ["where is my blue parcel", "where is my red parcel"][i]);
      await page.locator(".bot .msg").first().waitFor();
      await page.locator(".human").click();
      pages.push(page);
    }
    // Ann takes both chats and reads them; the red one stays open.
    for (const colour of ["blue", "red"]) {
      await console_.locator("#queue .item", { hasText: colour }).click();
      await console_.locator("#claim").click();
      await console_.locator("#mine .item", { hasText: colour }).waitFor();
    }
    await console_.locator("#mine .item", { hasText: "blue" }).click();
    await console_.locator("#mine .item", { hasText: "red" }).click();
    await console_.locator("#title").waitFor();
    // The blue visitor writes once more while Ann reads the red chat.
    await ask(pages[0], "any news on the blue one?");
    const blue = console_.locator("#mine .item", { hasText: "any news" });
    await blue.locator(".unread", { hasText: "1" }).waitFor();

    await console_.reload();
    await console_.locator("#log .ev.visitor", { hasText: "where is my red parcel" }).waitFor();
    assert.equal(await console_.locator("#mine .item.current", { hasText: "red" }).count(), 1, "the red chat is open again");
    await blue.locator(".unread").waitFor();
    await console_.waitForTimeout(500);
    assert.equal(await blue.locator(".unread").innerText(), "1", "only the message that arrived unread is unread");
    assert.equal(await console_.locator("#mine .item", { hasText: "red" }).locator(".unread").count(), 0);
    await console_.screenshot({ path: join(SHOTS, "console-after-reload.png") });
  } finally {
    await agentContext.close();
    for (const c of visitors) await c.close();
    server.stop();
  }
});

test("on a phone the open widget covers the screen exactly, even on a page wider than the screen, with the header in view while typing", async () => {
  const server = await startServer();
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  try {
    const page = await context.newPage();
    page.setDefaultTimeout(WAIT);
    await page.goto(server.base + "/");
    // The demo page itself fits the screen.
    assert.equal(await page.evaluate(() => document.scrollingElement.scrollWidth - innerWidth), 0, "the demo page is not wider than the screen");
    // A host page that overflows sideways (a wide table, say).
    await page.evaluate(() => {
      const wide = document.createElement("div");
      wide.style.cssText = "width: 700px; height: 40px; background: #ddd";
      document.body.prepend(wide);
    });
    await page.locator(".launch").click();
    await ask(page, "where is my order?");
    await page.locator(".bot .msg").first().waitFor();
    const fits = async () => page.evaluate(async () => {
      const open = document.querySelector("[data-frontdesk]").shadowRoot.querySelector(".panel");
      // Once its opening animation is over.
      await Promise.all(open.getAnimations().map((a) => a.finished));
      const panel = open.getBoundingClientRect();
      const vv = window.visualViewport;
      return { panel: panel.toJSON(), vv: { left: vv.offsetLeft, top: vv.offsetTop, width: vv.width, height: vv.height } };
    });
    const { panel, vv } = await fits();
    assert.ok(Math.abs(panel.width - vv.width) <= 1 && Math.abs(panel.height - vv.height) <= 1,
      `the panel ${panel.width}x${panel.height} covers the screen ${vv.width}x${vv.height}`);
    assert.ok(Math.abs(panel.left - vv.left) <= 1 && Math.abs(panel.top - vv.top) <= 1, `where the screen is: ${JSON.stringify({ panel, vv })}`);
    await page.locator(".compose textarea").focus();
    assert.ok((await visibility(page.locator(".head .title"))).inside, "the header is in view while typing");
    assert.ok((await visibility(page.locator(".compose textarea"))).inside);
    // The composer's focus ring is inside the panel (the rounded edge cut it off on three sides).
    const ring = await page.locator(".compose textarea").evaluate((t) => {
      const s = getComputedStyle(t);
      const grow = parseFloat(s.outlineWidth) + parseFloat(s.outlineOffset);
      const box = t.getBoundingClientRect();
      const panel = t.closest(".panel").getBoundingClientRect();
      return { style: s.outlineStyle, inside: box.left - grow >= panel.left && box.right + grow <= panel.right && box.bottom + grow <= panel.bottom };
    });
    assert.equal(ring.style, "solid", "a focus ring is drawn");
    assert.ok(ring.inside, "the focus ring is not cut off");
    await page.screenshot({ path: join(SHOTS, "widget-phone-wide-page.png") });
  } finally {
    await context.close();
    server.stop();
  }
});

test("the demo page and the sign-in pages have no moderate accessibility findings either (heading order, landmarks)", async () => {
  const server = await startServer();
  const context = await browser.newContext({ bypassCSP: true });
  try {
    const page = await context.newPage();
    page.setDefaultTimeout(WAIT);
    for (const path of ["/", "/agent/login", "/admin/login"]) {
      await page.goto(server.base + path);
      if (path !== "/") {
        const form = page.locator("#login");
        await form.waitFor();
        assert.ok((await visibility(form.locator("button"))).inside, `${path}: the sign-in button is in view`);
        const box = await form.boundingBox();
        assert.ok(box.width >= 260, `${path}: the form is not squeezed: ${box.width}px`);
      }
      assert.deepEqual(await violations(page, ["moderate", "serious", "critical"]), [], path);
    }
  } finally {
    await context.close();
    server.stop();
  }
});
