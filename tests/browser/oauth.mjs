// OAuth in a real browser: connect the probe connector through the host's start page and the
// loopback authorization server, landing back on the new connection (PHASE=connect); then,
// after the test has killed the grant, reconnect the `needs_reauth` connection from the
// dashboard (PHASE=reconnect). The session cookie goes from one phase to the next in STORAGE.
// Run by the e2e test `console::a_real_browser_connects_and_reconnects_through_oauth`, which
// passes CONSOLE_BASE, CONSOLE_KEY, VENDOR_ORIGIN, PHASE, STORAGE, SCREENSHOTS, CHROMIUM.
import { env, run } from "./lib.mjs";

const base = env("CONSOLE_BASE");
const phase = env("PHASE");

// The host's start page says where the user is going; continuing goes to the vendor, which
// sends the browser back to the host's callback, which lands on the console.
const throughTheVendor = async (page, check, shot) => {
  await page.waitForURL(/\/api\/v1\/oauth\/start\?/);
  await check(page, shot);
  await page.getByRole("link", { name: /^Continue to / }).click();
  await page.waitForURL(/\/console\/connections\/conn_[^/]+$/);
};

await run(`oauth browser test (${phase})`, async ({ browser, check, expectText, failures }) => {
  if (phase === "connect") {
    const context = await browser.newContext({ viewport: { width: 1100, height: 800 } });
    const page = await context.newPage();
    await page.goto(`${base}/console/sign-in`);
    await page.getByLabel("API key").fill(env("CONSOLE_KEY"));
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL(/\/console\/connections$/);
    await page.getByRole("link", { name: "Connect an account" }).first().click();
    await page.getByRole("link", { name: "Probe (test fixture)", exact: true }).click();
    await page.locator(`[id="oauth.config.base_url"]`).fill(env("VENDOR_ORIGIN"));
    await check(page, "oauth-connect");
    await page.getByRole("button", { name: /^Continue to Probe/ }).click();
    await throughTheVendor(page, check, "oauth-start");
    await expectText(page, "Containers");
    await check(page, "oauth-landed");
    await context.storageState({ path: env("STORAGE") });
  } else if (phase === "reconnect") {
    const context = await browser.newContext({
      viewport: { width: 1100, height: 800 },
      storageState: env("STORAGE"),
    });
    const page = await context.newPage();
    await page.goto(`${base}/console/connections`);
    await page.locator(".status-needs_reauth").first().waitFor();
    await check(page, "connections-needs-reauth");
    await page.getByRole("button", { name: /^Reconnect / }).click();
    await throughTheVendor(page, check, "reconnect-start");
    await expectText(page, "Containers");
    await page.goto(`${base}/console/connections`);
    await page.locator(".status-active").first().waitFor();
    const reauth = await page.locator(".status-needs_reauth").count();
    if (reauth !== 0) failures.push(`still ${reauth} connection(s) needing reauth`);
    await check(page, "connections-reconnected");
  } else {
    throw new Error(`unknown PHASE ${phase}`);
  }
});
