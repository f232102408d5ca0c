// The admin page (/admin) in a real browser: sign-in, KPIs with their definitions, the
// unanswered questions a visitor just asked, and a broken knowledge-base edit shown with its
// file and field while the last good one keeps answering (see harness.mjs).

import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { SHOTS, WAIT, browser, startServer, openWidget, ask, copyKnowledgeBase, seriousViolations, visibility } from "./harness.mjs";

/** Signs in to /admin as the test admin. */
async function signIn(page, base) {
  await page.goto(base + "/admin");
  await page.fill("#login-id", "max");
  await page.fill("#login-password", "max-password-1");
  await page.click("#login button");
  await page.waitForURL(base + "/admin");
}

test("an editor finds the question the bot failed on, sees a broken edit rejected, and fixes it", async () => {
  const kb = copyKnowledgeBase();
  const server = await startServer([], 0, kb);
  const visitorContext = await browser.newContext();
  const adminContext = await browser.newContext();
  try {
    // A visitor asks something the knowledge base does not cover, in two wordings, and one
    // thing it does.
    const widget = await openWidget(visitorContext, server.base);
    await ask(widget, "do you sell purple trombones");
    await widget.locator(".bot .msg").nth(0).waitFor();
    await ask(widget, "purple trombones for sale?");
    await widget.locator(".bot .msg").nth(1).waitFor();
    await ask(widget, "what is your return policy");
    await widget.locator(".bot .msg", { hasText: "30 days" }).waitFor();

    const page = await adminContext.newPage();
    page.setDefaultTimeout(WAIT);
    await page.goto(server.base + "/admin");
    assert.ok(page.url().endsWith("/admin/login"), "no session: /admin asks to sign in");
    await page.fill("#login-id", "max");
    await page.fill("#login-password", "not-it");
    await page.click("#login button");
    await page.locator("#login-error", { hasText: "wrong name or password" }).waitFor();
    await page.fill("#login-password", "max-password-1");
    await page.click("#login button");
    await page.waitForURL(server.base + "/admin");

    // KPIs, each with its definition next to it.
    const conversations = page.locator('[data-kpi="conversations"]');
    await conversations.locator(".value", { hasText: "1" }).waitFor();
    assert.match(await conversations.locator(".def").innerText(), /wrote at least once/);
    const resolution = page.locator('[data-kpi="bot_resolution"] .def');
    assert.match(await resolution.innerText(), /did not come back within 24 h/);
    assert.equal(await page.locator("#chart-outcomes svg").count(), 1, "an inline SVG chart");

    // The two wordings are one group, with the FAQ the matcher found closest.
    const group = page.locator("#unanswered tr.group").first();
    await group.waitFor();
    assert.equal((await group.locator("td.num").innerText()).trim(), "2");
    assert.match(await group.innerText(), /purple trombones/);
    assert.match(await group.innerText(), /no answer 2/);
    assert.match(await group.locator(".closest").innerText(), /faq\/.+\.md/, "the file to edit");
    await page.locator("#kb-state.ok").waitFor();
    await page.screenshot({ path: join(SHOTS, "admin.png"), fullPage: true });

    // A chosen period: whole days, both ends included. Today holds the conversation; a day long
    // ago holds none.
    await page.selectOption("#period", "custom");
    await page.locator("#from").waitFor();
    await conversations.locator(".value", { hasText: "1" }).waitFor();
    await page.fill("#from", "2020-01-01");
    await page.fill("#to", "2020-01-02");
    await conversations.locator(".value", { hasText: "0" }).waitFor();
    // Reversed days: said next to them, and the numbers shown are greyed out, not passed off
    // as that period's.
    await page.fill("#from", "2020-01-05");
    const said = page.locator("#period-said");
    await said.filter({ hasText: "The first day is after the last day" }).waitFor();
    assert.ok((await visibility(said)).inside, "the message is in view");
    assert.equal(await page.locator("#from").getAttribute("aria-invalid"), "true");
    await page.locator("section.stale #kpis").waitFor();
    await page.fill("#from", "2020-01-01");
    await said.filter({ hasText: /^$/ }).waitFor({ state: "attached" });
    assert.equal(await page.locator("section.stale").count(), 0);
    await page.selectOption("#period", "7");
    await conversations.locator(".value", { hasText: "1" }).waitFor();

    // A typo in a field: the reload is rejected with file and field; the bot keeps answering.
    const faq = join(kb, "faq", "returns", "return-policy.md");
    const source = readFileSync(faq, "utf8");
    writeFileSync(faq, source.replace("title =", "titel ="));
    await page.click("#reload");
    const errors = page.locator("#kb-errors");
    await errors.locator("text=faq/returns/return-policy.md").waitFor();
    assert.match(await errors.innerText(), /titel/);
    assert.match(await page.locator("#kb-state").innerText(), /still serving the last good/);
    await page.screenshot({ path: join(SHOTS, "admin-kb-error.png") });
    await ask(widget, "how many days is the return window");
    await widget.locator(".bot .msg", { hasText: "30 days" }).nth(1).waitFor();

    // Fixed: good again.
    writeFileSync(faq, source);
    await page.click("#reload");
    await page.locator("#kb-state.ok").waitFor();
    assert.ok(await errors.isHidden());
    // Reloading files that did not change says so (it said nothing).
    await page.click("#reload");
    await page.locator("#reload-said", { hasText: "no change" }).waitFor();
    assert.ok((await visibility(page.locator("#reload-said"))).inside);
  } finally {
    await visitorContext.close();
    await adminContext.close();
    server.stop();
  }
});

test("the KPIs say what they count: outcomes by name, an answer then a miss is not resolved, a pasted essay stays short", async () => {
  const server = await startServer();
  const visitorContext = await browser.newContext();
  // Bypassing the page's CSP only so that axe-core can be injected.
  const adminContext = await browser.newContext({ bypassCSP: true, viewport: { width: 1280, height: 800 } });
  try {
    // Answered first, then a long question the bot has nothing for: the visitor leaves with
    // their last question unanswered.
    const widget = await openWidget(visitorContext, server.base);
    await ask(widget, "what is your return policy");
    await widget.locator(".bot .msg", { hasText: "30 days" }).waitFor();
    const essay = "Dear team, about the zither I ordered in a teal colour for my aunt ".repeat(30);
    await ask(widget, essay);
    await widget.locator(".bot .msg").nth(1).waitFor();

    const page = await adminContext.newPage();
    page.setDefaultTimeout(WAIT);
    await signIn(page, server.base);

    const outcomes = page.locator('[data-kpi="outcomes"]');
    await outcomes.locator("dt").first().waitFor();
    const named = await outcomes.locator("dt").allInnerTexts();
    assert.deepEqual(named, ["Bot resolved", "Handed off", "Offline message", "Not resolved"]);
    const counts = await outcomes.locator("dd").allInnerTexts();
    assert.deepEqual(counts, ["0 (0%)", "0 (0%)", "0 (0%)", "1 (100%)"],
      "an answer followed by a miss is not resolved by the bot");

    const question = page.locator("#unanswered tr.group .question").first();
    await question.waitFor();
    const text = await question.innerText();
    assert.ok(text.length <= 241 && text.endsWith("…"), `the essay is shortened: ${text.length} characters`);
    const box = await question.boundingBox();
    assert.ok(box.height < 120, `the question takes ${box.height} px of the table`);
    await page.screenshot({ path: join(SHOTS, "admin-outcomes.png"), fullPage: true });
    assert.deepEqual(await seriousViolations(page), [], "axe-core on /admin: serious or critical");
  } finally {
    await visitorContext.close();
    await adminContext.close();
    server.stop();
  }
});

test("unanswered questions are listed per language, each language under its heading", async () => {
  const server = await startServer();
  const english = await browser.newContext({ locale: "en-GB" });
  const spanish = await browser.newContext({ locale: "es-ES" });
  const adminContext = await browser.newContext({ bypassCSP: true, viewport: { width: 1280, height: 800 } });
  try {
    const en = await openWidget(english, server.base);
    await ask(en, "do you sell purple trombones");
    await en.locator(".bot .msg").nth(0).waitFor();
    const es = await openWidget(spanish, server.base);
    await ask(es, "¿vendéis trombones morados?");
    await es.locator(".bot .msg").nth(0).waitFor();
    await ask(es, "quiero comprar trombones morados");
    await es.locator(".bot .msg").nth(1).waitFor();

    const page = await adminContext.newPage();
    page.setDefaultTimeout(WAIT);
    await signIn(page, server.base);

    const headings = page.locator("#unanswered tr.language th");
    await headings.first().waitFor();
    assert.deepEqual(await headings.allInnerTexts(), ["Spanish", "English"], "most asked first");
    const rows = await page.locator("#unanswered tr").allInnerTexts();
    const spanishAt = rows.findIndex((r) => r.includes("Spanish"));
    const englishAt = rows.findIndex((r) => r.includes("English"));
    assert.match(rows[spanishAt + 1], /trombones morados/);
    assert.match(rows[englishAt + 1], /purple trombones/);
    await page.screenshot({ path: join(SHOTS, "admin-languages.png"), fullPage: true });
    assert.deepEqual(await seriousViolations(page), [], "axe-core on /admin: serious or critical");
  } finally {
    await english.close();
    await spanish.close();
    await adminContext.close();
    server.stop();
  }
});

test("an erasure request by e-mail: the admin finds the visitor's conversations, sees them, and erases them", async () => {
  const server = await startServer();
  const visitorContext = await browser.newContext();
  const adminContext = await browser.newContext({ bypassCSP: true, viewport: { width: 1280, height: 800 } });
  try {
    // Nobody is online: the visitor leaves a message with the form.
    const widget = await openWidget(visitorContext, server.base);
    await widget.locator(".human").click();
    const form = widget.locator("form.offline");
    await form.locator("input[type=email]").fill("grace@example.com");
    await form.locator("textarea").fill("Please delete my data after you answer");
    await form.locator("button").click();
    await widget.locator(".notice", { hasText: "grace@example.com" }).waitFor();

    const page = await adminContext.newPage();
    page.setDefaultTimeout(WAIT);
    await signIn(page, server.base);
    await page.fill("#forget-visitor", "Grace@Example.com");
    await page.press("#forget-visitor", "Enter");
    const row = page.locator("#forget-list tr");
    await row.first().waitFor();
    assert.equal(await row.count(), 1);
    assert.match(await row.first().innerText(), /Please delete my data/);
    assert.match(await row.first().innerText(), /grace@example\.com/);
    const erase = page.locator("#forget-erase");
    assert.match(await erase.innerText(), /Erase these 1 conversation/);
    await erase.scrollIntoViewIfNeeded();
    assert.ok((await visibility(erase)).inside, "the erase button is in view");
    await page.screenshot({ path: join(SHOTS, "admin-erasure.png"), fullPage: true });
    assert.deepEqual(await seriousViolations(page), []);
    page.once("dialog", (d) => d.accept());
    await erase.click();
    await page.locator("#forget-result", { hasText: "Erased 1 conversation(s) of Grace@Example.com" }).waitFor();
    assert.ok(await erase.isHidden());
    // Looked up again: nothing is left.
    await page.press("#forget-visitor", "Enter");
    await page.locator("#forget-result", { hasText: "No conversations found" }).waitFor();
  } finally {
    await visitorContext.close();
    await adminContext.close();
    server.stop();
  }
});

test("every number links to the conversations behind it, each opening its transcript read-only", async () => {
  const server = await startServer();
  const visitorContext = await browser.newContext();
  const otherContext = await browser.newContext();
  const adminContext = await browser.newContext({ bypassCSP: true, viewport: { width: 1280, height: 800 } });
  try {
    const answered = await openWidget(visitorContext, server.base);
    await ask(answered, "how do I reset my password");
    await answered.locator(".bot .msg").first().waitFor();
    const missed = await openWidget(otherContext, server.base);
    await ask(missed, "do you sell purple trombones");
    await missed.locator(".bot .msg").first().waitFor();

    const page = await adminContext.newPage();
    page.setDefaultTimeout(WAIT);
    await signIn(page, server.base);
    const outcomes = page.locator('[data-kpi="outcomes"]');
    await outcomes.locator(".show", { hasText: "Bot resolved: show 1" }).click();
    const list = page.locator("#behind-list tr");
    await list.first().locator("button").waitFor();
    assert.equal(await list.count(), 1);
    assert.match(await list.first().innerText(), /reset my password/);
    assert.ok((await visibility(page.locator("#behind-title"))).inside, "the list is brought into view");
    await list.first().locator("button").click();
    const dialog = page.locator("#transcript");
    await dialog.locator("li", { hasText: "reset my password" }).waitFor();
    assert.match(await dialog.innerText(), /Bot · answer/);
    assert.equal(await dialog.locator("textarea, input").count(), 0, "read-only");
    await page.screenshot({ path: join(SHOTS, "admin-drilldown.png") });
    assert.deepEqual(await seriousViolations(page), []);
    await page.keyboard.press("Escape");
    await dialog.waitFor({ state: "hidden" });

    // An unanswered question leads to the conversation it was asked in.
    await page.locator("#unanswered .show").first().click();
    await page.locator("#behind-list tr button", { hasText: "purple trombones" }).waitFor();
    assert.equal(await page.locator("#behind-list tr").count(), 1);
  } finally {
    await visitorContext.close();
    await otherContext.close();
    await adminContext.close();
    server.stop();
  }
});
