// What the console's browser scripts share: reading the environment, launching Debian's
// chromium through playwright-core, and checking a page (axe-core: no serious or critical
// violations; a full-page screenshot) with failures collected rather than thrown, so one run
// reports every page that fails.
import { chromium } from "playwright-core";
import { readFileSync, mkdirSync } from "node:fs";
import { createRequire } from "node:module";

export const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};

const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

export const launch = () =>
  chromium.launch({
    executablePath: env("CHROMIUM"),
    headless: true,
    // Tests run as root in CI containers, where chromium's sandbox cannot start; containers'
    // small /dev/shm would crash the renderer.
    args: ["--no-sandbox", "--disable-dev-shm-usage"],
  });

// Runs `body(tools)` with a browser, then exits non-zero with every failure it collected.
export const run = async (name, body) => {
  const shots = env("SCREENSHOTS");
  mkdirSync(shots, { recursive: true });
  const failures = [];
  const browser = await launch();
  try {
    const tools = {
      browser,
      failures,
      check: async (page, shot) => {
        // Evaluated through the DevTools protocol: the console's CSP refuses inline scripts,
        // and the test must not weaken it (`bypassCSP` would hide a policy that breaks pages).
        await page.evaluate(axeSource);
        const result = await page.evaluate(async () => await globalThis.axe.run(document));
        const serious = result.violations.filter((v) => ["serious", "critical"].includes(v.impact));
        for (const v of serious) {
          failures.push(`${shot}: ${v.id} (${v.impact}) at ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
        }
        await page.screenshot({ path: `${shots}/${shot}.png`, fullPage: true });
      },
      expectText: async (page, text) => {
        await page.getByText(text, { exact: false }).first().waitFor({ timeout: 10000 });
      },
    };
    await body(tools);
  } catch (error) {
    failures.push(String(error?.stack ?? error));
  } finally {
    await browser.close();
  }
  if (failures.length) {
    console.error(failures.join("\n"));
    process.exit(1);
  }
  console.log(`${name}: ok`);
};
