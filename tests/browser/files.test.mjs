// Attachments in a real browser: the visitor's paperclip, paste and drop, the preview with its
// remove button, refusals on the bubble, the thumbnail; the agent's console showing it and
// sending a PDF back; the same on a phone (see harness.mjs).

import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { SHOTS, WAIT, browser, startServer, openWidget, consolePage, seriousViolations, visibility } from "./harness.mjs";

// A 24 x 16 PNG (red-brown), as a phone or a screenshot tool would hand one over.
const PNG = Buffer.from("iVBORw0KGgoAAAANSUhEUgAAABgAAAAQCAIAAACDRijCAAAAGklEQVR4nGO44GBAFcQwatCoQaMGjRpEGQIANMjgEO6MH08AAAAASUVORK5CYII=", "base64");
const PDF = Buffer.from("%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n");

/** Hands `file` to the widget as a paste into the message box, or a drop on the panel. */
async function pasteOrDrop(page, how, file) {
  await page.evaluate(({ how, name, type, bytes }) => {
    const root = document.querySelector("[data-frontdesk]").shadowRoot;
    const data = new DataTransfer();
    data.items.add(new File([new Uint8Array(bytes)], name, { type }));
    const target = how === "paste" ? root.querySelector("textarea") : root.querySelector(".panel");
    const event = how === "paste"
      ? new ClipboardEvent("paste", { clipboardData: data, bubbles: true, cancelable: true })
      : new DragEvent("drop", { dataTransfer: data, bubbles: true, cancelable: true });
    target.dispatchEvent(event);
  }, { how, name: file.name, type: file.mimeType, bytes: [...file.buffer] });
}

test("a visitor sends a photo with the paperclip, sees it as a thumbnail, and the bot offers a person; refusals stay on their bubble", async () => {
  const server = await startServer(["--attachment-max-bytes", "4000"]);
  const context = await browser.newContext();
  try {
    const page = await openWidget(context, server.base);
    const clip = page.locator(".clip");
    await clip.waitFor({ state: "visible" });
    assert.equal(await clip.getAttribute("aria-label"), "Attach a file");
    assert.ok((await visibility(clip)).inside, "the paperclip is on screen");

    // Chosen, then removed: nothing is sent.
    await page.locator(".file").setInputFiles({ name: "parcel.png", mimeType: "image/png", buffer: PNG });
    const chosen = page.locator(".chosen");
    await chosen.waitFor({ state: "visible" });
    assert.match(await chosen.innerText(), /parcel\.png \(1 KB\)/);
    await chosen.locator("button", { hasText: "×" }).click();
    await chosen.waitFor({ state: "hidden" });

    // Too large and the wrong type: refused here, before any upload, with the reason.
    await page.locator(".file").setInputFiles({ name: "log.txt", mimeType: "text/plain", buffer: Buffer.alloc(5000, 97) });
    await page.locator(".failed .meta", { hasText: "files up to 4 KB" }).waitFor();
    await page.locator(".file").setInputFiles({ name: "tool.zip", mimeType: "application/zip", buffer: Buffer.from("PK\x03\x04") });
    await page.locator(".failed .meta", { hasText: "this kind of file" }).waitFor();
    // The server refuses what the browser could not know: a PNG named and typed as text.
    await page.locator(".file").setInputFiles({ name: "fake.txt", mimeType: "text/plain", buffer: PNG });
    await page.locator(".compose button[type=submit]").click();
    await page.locator(".failed .meta", { hasText: "content is image" }).waitFor();

    // Pasted, then sent with the Send button: progress, then the thumbnail and the bot's offer.
    await pasteOrDrop(page, "paste", { name: "parcel.png", mimeType: "image/png", buffer: PNG });
    await chosen.waitFor({ state: "visible" });
    await page.locator(".compose button[type=submit]").click();
    const thumb = page.locator(".me img.thumb");
    await thumb.waitFor({ state: "visible" });
    assert.equal(await thumb.getAttribute("alt"), "parcel.png");
    assert.ok(await thumb.evaluate(img => img.complete && img.naturalWidth === 24), "the picture loaded");
    const offer = page.locator(".bot .msg", { hasText: "can't open files" });
    await offer.waitFor();
    await offer.locator("button", { hasText: "Talk to a person" }).waitFor();

    // A slow upload shows its progress bar and Cancel; cancelled, its bubble goes without a
    // complaint. (The route holds the request and then drops it: what a server does with an
    // upload cut off half way is tested in tests/server.)
    await page.route("**/api/files?**", async route => { await new Promise(r => setTimeout(r, 1500)); await route.abort().catch(() => {}); });
    await page.locator(".file").setInputFiles({ name: "slow.png", mimeType: "image/png", buffer: PNG });
    await page.locator(".compose button[type=submit]").click();
    const uploading = page.locator(".pending .msg", { hasText: "slow.png" });
    await uploading.locator("progress").waitFor({ state: "visible" });
    await uploading.locator("button", { hasText: "Cancel" }).click();
    await uploading.waitFor({ state: "detached" });
    await page.waitForTimeout(2000); // the held request has been dropped by now
    await page.unroute("**/api/files?**");
    assert.equal(await page.locator(".failed", { hasText: "slow.png" }).count(), 0, "cancelled is not failed");
    assert.equal(await page.locator(".me img.thumb").count(), 1, "only the first photo was sent");

    // Dropped on the panel: the same preview.
    await pasteOrDrop(page, "drop", { name: "label.pdf", mimeType: "application/pdf", buffer: PDF });
    await chosen.waitFor({ state: "visible" });
    assert.match(await chosen.innerText(), /label\.pdf/);
    await page.screenshot({ path: join(SHOTS, "widget-files.png") });
    assert.deepEqual(await seriousViolations(page), []);
  } finally {
    await context.close();
    server.stop();
  }
});

test("the agent sees the visitor's photo in the console and sends a PDF the visitor can open", async () => {
  const server = await startServer(["--auto-assign", "false"]);
  const visitorContext = await browser.newContext();
  // axe is injected as a script: the console's CSP would refuse it.
  const agentContext = await browser.newContext({ bypassCSP: true });
  try {
    // Ann is online first: a visitor asking for a person then waits in line for her.
    const console_ = await consolePage(agentContext, server.base, "ann");
    await console_.locator("#me", { hasText: "Ann" }).waitFor();
    const widget = await openWidget(visitorContext, server.base);
    await widget.locator(".human").click();
    await widget.locator(".status", { hasText: "in line" }).waitFor();
    await console_.locator("#queue .item").first().click();
    await console_.locator("#claim").click();
    await widget.locator(".notice", { hasText: "Ann will be with you shortly" }).waitFor();

    await widget.locator(".file").setInputFiles({ name: "broken-lamp.png", mimeType: "image/png", buffer: PNG });
    await widget.locator(".compose button[type=submit]").click();
    const seen = console_.locator("#log .ev.visitor img.thumb");
    await seen.waitFor({ state: "visible" });
    assert.ok(await seen.evaluate(img => img.complete && img.naturalWidth === 24), "the agent sees the picture");
    assert.equal(await widget.locator(".bot .msg", { hasText: "can't open files" }).count(), 0, "a person has it: the bot stays quiet");

    await console_.locator("#attach").setInputFiles({ name: "return-label.pdf", mimeType: "application/pdf", buffer: PDF });
    const link = widget.locator(".agent .msg a", { hasText: "return-label.pdf" });
    await link.waitFor();
    const download = widget.waitForEvent("download");
    await link.click();
    assert.equal((await download).suggestedFilename(), "return-label.pdf");
    await console_.locator("#log .ev.agent a", { hasText: "return-label.pdf" }).waitFor();
    // The visitor panel lists the conversation's files, both ways.
    await console_.locator("#visitor dt", { hasText: "Files (2)" }).waitFor();
    const listed = (await console_.locator("#visitor .files a").allInnerTexts()).map(t => t.trim());
    assert.deepEqual(listed, ["broken-lamp.png (1 KB)", "return-label.pdf (1 KB)"]);
    await console_.screenshot({ path: join(SHOTS, "console-files.png") });
    assert.deepEqual(await seriousViolations(console_), []);
  } finally {
    await visitorContext.close();
    await agentContext.close();
    server.stop();
  }
});

test("on a phone the paperclip and a sent photo fit the screen", async () => {
  const server = await startServer();
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  try {
    const page = await openWidget(context, server.base);
    await page.locator(".clip").waitFor({ state: "visible" });
    assert.equal(await page.locator(".file").getAttribute("accept"), "image/jpeg,image/png,image/gif,image/webp,application/pdf,text/plain");
    await page.locator(".file").setInputFiles({ name: "photo.png", mimeType: "image/png", buffer: PNG });
    await page.locator(".compose button[type=submit]").click();
    const thumb = page.locator(".me img.thumb");
    await thumb.waitFor({ state: "visible" });
    const box = await thumb.boundingBox();
    assert.ok(box && box.x >= 0 && box.x + box.width <= 390, `inside the screen: ${JSON.stringify(box)}`);
    assert.ok((await visibility(page.locator(".clip"))).inside);
    await page.screenshot({ path: join(SHOTS, "widget-phone-files.png") });
  } finally {
    await context.close();
    server.stop();
  }
});
