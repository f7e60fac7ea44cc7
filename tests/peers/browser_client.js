// A real browser as a Socket.IO client: headless Debian chromium, driven by playwright-core.
//
//   node browser_client.js PAGE_URL COUNT
//
// Opens PAGE_URL (a page served from another origin than the Socket.IO
// server: tests/test_browser.py), waits until the page has received COUNT
// events or reported an error, and prints one JSON object on stdout:
// {"events": [[name, ...args], ...], "error": null | "text", "transport": "..."}.
// Browser console lines go to stderr, so a CORS refusal shows in the test's
// failure message.
"use strict";

const { chromium } = require("playwright-core");

const [pageUrl, countText] = process.argv.slice(2);
const count = Number(countText);
const timeoutMs = 30000 * Number(process.env.WSTAIL_TEST_TIMEOUT_SCALE || "1");

async function main() {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    // Closed network: no background connections, no sandbox as root.
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  try {
    const page = await browser.newPage();
    page.on("console", (message) => process.stderr.write(`console: ${message.text()}\n`));
    page.on("pageerror", (error) => process.stderr.write(`page error: ${error}\n`));
    await page.goto(pageUrl);
    await page.waitForFunction(
      (wanted) => window.result.error !== null || window.result.events.length >= wanted,
      count,
      { timeout: timeoutMs, polling: 50 },
    );
    const result = await page.evaluate(() => window.result);
    process.stdout.write(JSON.stringify(result) + "\n");
  } finally {
    await browser.close();
  }
}

main().catch((error) => {
  process.stderr.write(`browser_client: ${error.stack || error}\n`);
  process.exit(1);
});
