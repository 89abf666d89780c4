// Connecting an account in the middle of an agent's tool call, in a real browser: open the
// link the MCP client was given (the console's connect form), sign in with the tenant's API key
// on the way, fill in the Jira site, continue through the host's start page to the loopback
// authorization server, and land on the new connection.
// Run by the e2e test `connect_in_run::an_agent_gets_a_connect_link_...`, which passes
// CONNECT_URL, CONSOLE_KEY, JIRA_SITE, SCREENSHOTS, CHROMIUM.
import { env, run } from "./lib.mjs";

await run("connect in a run browser test", async ({ browser, check, expectText }) => {
  const context = await browser.newContext({ viewport: { width: 1100, height: 800 } });
  const page = await context.newPage();
  await page.goto(env("CONNECT_URL"));
  await page.waitForURL(/\/console\/sign-in\?next=/);
  await page.getByLabel("API key").fill(env("CONSOLE_KEY"));
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL(/\/console\/connectors\/jira\/connect$/);
  await page.locator(`[id="oauth.config.site_url"]`).fill(env("JIRA_SITE"));
  await page.locator(`[id="oauth.config.api_url"]`).fill(env("JIRA_SITE"));
  await check(page, "connect-in-run-form");
  await page.getByRole("button", { name: /^Continue to Jira/ }).click();
  await page.waitForURL(/\/api\/v1\/oauth\/start\?/);
  await page.getByRole("link", { name: /^Continue to / }).click();
  await page.waitForURL(/\/console\/connections\/conn_[^/]+$/);
  await expectText(page, "Containers");
});
