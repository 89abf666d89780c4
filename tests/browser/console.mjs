// Drives Debian's chromium through the console with playwright-core: sign in, connect Jira with
// an API token (a refused token first), browse project -> issue -> comments, add a comment,
// create a sync, run an agent tool, visit webhooks and the audit log, on a wide and a narrow
// screen, keyboard focus, sign out; then the operator uploads a plugin version and rolls it
// back, creates a tenant, issues it a key and reads the host's audit log. Every page checked
// with axe-core (no serious or critical violations) and screenshotted into SCREENSHOTS. Run by
// the e2e test `console::a_real_browser_...`, which starts the host and the Jira fake and passes:
//   CONSOLE_BASE, CONSOLE_KEY, JIRA_SITE, JIRA_EMAIL, JIRA_TOKEN, JIRA_METHOD, SCREENSHOTS, CHROMIUM,
//   ADMIN_TOKEN, PROBE_WASM
import { env, run } from "./lib.mjs";

const base = env("CONSOLE_BASE");

await run("console browser test", async ({ browser, check: checkPage, expectText: expect, failures }) => {
  const context = await browser.newContext({ viewport: { width: 1100, height: 800 } });
  const page = await context.newPage();
  const check = (name) => checkPage(page, name);
  const expectText = (text) => expect(page, text);

  await page.goto(`${base}/console`);
  await page.waitForURL(/\/console\/sign-in$/);
  await check("sign-in");
  await page.getByLabel("API key").fill("chk_wrong");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expectText("not valid");
  await page.getByLabel("API key").fill(env("CONSOLE_KEY"));
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL(/\/console\/connections$/);
  await expectText("No connections yet");
  await check("connections-empty");

  // Keyboard: the first Tab stop is the home link, then the main navigation.
  await page.keyboard.press("Tab");
  const first = await page.evaluate(() => document.activeElement?.textContent?.trim());
  if (first !== "connector-host") failures.push(`first focus is ${JSON.stringify(first)}`);

  await page.getByRole("link", { name: "Connect an account" }).first().click();
  await check("connectors");
  await page.getByRole("link", { name: "Jira", exact: true }).click();
  await page.locator(`[id="config.site_url"]`).fill(env("JIRA_SITE"));
  await page.locator(`[id="auth_method"]`).selectOption(env("JIRA_METHOD"));
  const method = env("JIRA_METHOD");
  await page.locator(`[id="${method}.username"]`).fill(env("JIRA_EMAIL"));
  await page.locator(`[id="${method}.password"]`).fill("wrong-token");
  await page.getByRole("button", { name: "Connect", exact: true }).click();
  await page.getByRole("alert").waitFor();
  await check("connect-refused");
  await page.locator(`[id="${method}.password"]`).fill(env("JIRA_TOKEN"));
  await page.getByRole("button", { name: "Connect", exact: true }).click();
  await expectText("Project ALPHA");
  await check("containers");
  const connectionUrl = page.url();

  await page.getByRole("link", { name: "Project ALPHA" }).click();
  await expectText("ALPHA issue 3");
  await check("items");
  await page.getByRole("link", { name: "ALPHA-3", exact: true }).click();
  await expectText("Comment 1 on ALPHA-3");
  await page.getByLabel("Comment").fill("Written in a real browser");
  await page.getByRole("button", { name: "Add comment" }).click();
  await expectText("Written in a real browser");
  await check("item");

  // A sync of the project, created from its form; it runs against the Jira fake.
  await page.goto(connectionUrl);
  await page.getByRole("link", { name: "Syncs" }).click();
  await page.getByLabel(/Container id/).fill("ALPHA");
  await page.getByRole("button", { name: "Create sync" }).click();
  await page.getByRole("button", { name: "Pause ALPHA" }).waitFor();
  await check("syncs");

  // An agent tool run from its form: wrong arguments first, the schema's complaint shown.
  await page.getByRole("link", { name: "Tools" }).first().click();
  await check("tools");
  await page.getByRole("link", { name: "jira.search", exact: true }).click();
  await page.getByLabel("Arguments (JSON)").fill('{"query": 5}');
  await page.getByRole("button", { name: "Run jira.search" }).click();
  await page.getByRole("alert").waitFor();
  await page.getByLabel("Arguments (JSON)").fill('{"query": "issue"}');
  await page.getByRole("button", { name: "Run jira.search" }).click();
  await page.getByLabel("Result").waitFor();
  await expectText("ALPHA-3");
  await check("tool-run");

  await page.getByRole("link", { name: "Webhooks" }).first().click();
  await expectText("Register an endpoint");
  await check("webhooks");
  await page.getByRole("link", { name: "Audit log" }).first().click();
  await expectText("console.sign_in");
  await check("audit");

  await page.setViewportSize({ width: 375, height: 740 });
  await page.getByRole("link", { name: "Connections" }).first().click();
  await page.locator(".status-active").first().waitFor();
  await check("connections-narrow");
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.waitForURL(/\/console\/sign-in$/);

  // The operator uploads a plugin version and rolls it back.
  await page.setViewportSize({ width: 1100, height: 800 });
  await page.goto(`${base}/console/operator`);
  await page.getByLabel("Admin token").fill(env("ADMIN_TOKEN"));
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL(/\/console\/operator\/plugins$/);
  await check("operator-plugins");
  await page.getByLabel(/Plugin id/).fill("probe");
  await page.getByLabel("Component (.wasm)").setInputFiles(env("PROBE_WASM"));
  await page.getByRole("button", { name: "Upload" }).click();
  await page.getByRole("button", { name: "Roll back probe" }).waitFor();
  await check("operator-uploaded");
  await page.getByRole("button", { name: "Roll back probe" }).click();
  await page.waitForURL(/\/console\/operator\/plugins$/);

  // A new tenant and its first key, shown once.
  await page.getByRole("link", { name: "Tenants" }).click();
  await page.getByLabel(/Tenant id/).fill("initech");
  await page.getByLabel("Name").fill("Initech");
  await page.getByRole("button", { name: "Create tenant" }).click();
  await page.waitForURL(/\/console\/operator\/tenants\/initech$/);
  await page.getByRole("button", { name: "Issue key" }).click();
  const issued = await page.getByLabel("API key").inputValue();
  if (!issued.startsWith("chk_")) failures.push(`issued key reads ${JSON.stringify(issued)}`);
  await check("operator-key-issued");
  await page.getByRole("link", { name: "Host audit" }).click();
  await expectText("plugin.rollback");
  await check("operator-audit");
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.waitForURL(/\/console\/operator$/);
});
