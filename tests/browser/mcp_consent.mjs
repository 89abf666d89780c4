// An MCP client's authorization in a real browser: open the authorization URL the client
// built (the host's consent page), sign in with the tenant's API key on the way, allow, and
// land on the client's loopback redirect URI with the code.
// Run by the e2e test `mcp_authorization::an_mcp_client_added_by_url_...`, which passes
// AUTH_URL, CONSOLE_KEY, REDIRECT_PREFIX, SCREENSHOTS, CHROMIUM.
import { env, run } from "./lib.mjs";

await run("mcp consent browser test", async ({ browser, check, expectText }) => {
  const context = await browser.newContext({ viewport: { width: 1100, height: 800 } });
  const page = await context.newPage();
  await page.goto(env("AUTH_URL"));
  await page.waitForURL(/\/console\/sign-in\?next=/);
  await page.getByLabel("API key").fill(env("CONSOLE_KEY"));
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL(/\/console\/authorize\?/);
  await expectText(page, "asks to use the tools of tenant");
  await check(page, "mcp-consent");
  const landed = page.waitForURL((url) => url.href.startsWith(env("REDIRECT_PREFIX")));
  await page.getByRole("button", { name: "Allow" }).click();
  await landed;
  await expectText(page, "authorized");
});
