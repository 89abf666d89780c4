// Drives Debian's chromium through the console with playwright-core: sign in, connect Jira with
// an API token (a refused token first), browse project -> issue -> comments, add a comment, on a
// wide and a narrow screen, keyboard focus, sign out; every page checked with axe-core (no
// serious or critical violations) and screenshotted into SCREENSHOTS; then the operator uploads
// a plugin version and rolls it back. Run by the e2e test
// `console::a_real_browser_...`, which starts the host and the Jira fake and passes:
//   CONSOLE_BASE, CONSOLE_KEY, JIRA_SITE, JIRA_EMAIL, JIRA_TOKEN, JIRA_METHOD, SCREENSHOTS, CHROMIUM,
//   ADMIN_TOKEN, PROBE_WASM
import { chromium } from "playwright-core";
import { readFileSync, mkdirSync } from "node:fs";
import { createRequire } from "node:module";

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};
const base = env("CONSOLE_BASE");
const shots = env("SCREENSHOTS");
mkdirSync(shots, { recursive: true });
const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

const browser = await chromium.launch({
  executablePath: env("CHROMIUM"),
  headless: true,
  // Tests run as root in CI containers, where chromium's sandbox cannot start; containers'
  // small /dev/shm would crash the renderer.
  args: ["--no-sandbox", "--disable-dev-shm-usage"],
});
const failures = [];
try {
  const context = await browser.newContext({ viewport: { width: 1100, height: 800 } });
  const page = await context.newPage();
  const check = async (name) => {
    await page.addScriptTag({ content: axeSource });
    const result = await page.evaluate(async () => await globalThis.axe.run(document));
    const serious = result.violations.filter((v) => ["serious", "critical"].includes(v.impact));
    for (const v of serious) {
      failures.push(`${name}: ${v.id} (${v.impact}) at ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
    }
    await page.screenshot({ path: `${shots}/${name}.png`, fullPage: true });
  };
  const expectText = async (text) => {
    await page.getByText(text, { exact: false }).first().waitFor({ timeout: 10000 });
  };

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

  await page.getByRole("link", { name: "Project ALPHA" }).click();
  await expectText("ALPHA issue 3");
  await check("items");
  await page.getByRole("link", { name: "ALPHA-3", exact: true }).click();
  await expectText("Comment 1 on ALPHA-3");
  await page.getByLabel("Comment").fill("Written in a real browser");
  await page.getByRole("button", { name: "Add comment" }).click();
  await expectText("Written in a real browser");
  await check("item");

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
} catch (error) {
  failures.push(String(error?.stack ?? error));
} finally {
  await browser.close();
}
if (failures.length) {
  console.error(failures.join("\n"));
  process.exit(1);
}
console.log("console browser test: ok");
