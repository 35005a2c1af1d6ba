// The console, driven in Debian's headless Chromium by playwright-core, as a person uses it.
//
//   node tests/browser/console.mjs BASE_URL SHOTS_DIR [ADMIN_TOKEN]
//
// Run by .ci/browser, which starts specmock (once plainly, once with --admin-token). Fails on
// any console error, page error, failed request or unexpected error status.
import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { chromium } from "playwright-core";

const [base, shots, adminToken] = process.argv.slice(2);
mkdirSync(shots, { recursive: true });
const suffix = adminToken ? "-token" : "";

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
  ],
});
const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
const problems = [];
page.on("console", (m) => m.type() === "error" && problems.push(`console error: ${m.text()}`));
page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
page.on("requestfailed", (r) => problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));
const expectedStatus = new Set();
page.on("response", (r) => {
  if (r.status() >= 400 && !expectedStatus.has(`${r.status()} ${new URL(r.url()).pathname}`)) {
    problems.push(`${r.status()} from ${r.url()}`);
  }
});

function check(ok, what) {
  if (!ok) throw new Error(what);
  console.log(`ok - ${what}`);
}

// The catalogue the console reads, read here too to know what it must show.
const adminHeaders = adminToken ? { Authorization: `Bearer ${adminToken}` } : {};
const catalogue = await (await fetch(`${base}/__admin/apis`, { headers: adminHeaders })).json();
const curl = (url, ...args) =>
  execFileSync("curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "-A", "curl-from-the-test", ...args, url]).toString();

try {
  // 1. The root redirects to the console.
  await page.goto(`${base}/`);
  check(page.url() === `${base}/__admin/ui/`, `GET / lands on the console (${page.url()})`);
  if (adminToken) {
    await page.locator("#token-dialog[open]").waitFor();
    await page.fill("#token-input", adminToken);
    await page.click("#token-form button");
    check(true, "the console asks for the admin token once");
  }

  // 2. Docs: every operation of every API, Try-it prefilled so it answers 200.
  for (const api of catalogue.apis) {
    await page.click(`#api-choice button[data-api="${api.name}"]`);
    // Wait for this API's document, not the one shown before.
    await page.waitForFunction(
      (paths) => paths.every((p) => document.querySelector(`.swagger-ui .opblock-summary-path[data-path="${p}"]`)),
      api.operations.map((o) => o.path),
    );
    const shown = await page.locator(".swagger-ui .opblock").count();
    check(shown === api.operations.length, `${api.name}: the docs show ${shown} of ${api.operations.length} operations`);
    for (const op of api.operations) {
      const path = page.locator(`.swagger-ui .opblock-summary-path[data-path="${op.path}"]`);
      check((await path.count()) >= 1, `${api.name}: ${op.method} ${op.path} is in the docs`);
    }
    await page.screenshot({ path: `${shots}/docs-${api.name}${suffix}.png`, fullPage: false });
  }

  for (const api of catalogue.apis) {
    // The first operation with a path parameter: the prefilled values must be right.
    const op = api.operations.find((o) => Object.keys(o.tryIt).length) || api.operations[0];
    await page.click(`#api-choice button[data-api="${api.name}"]`);
    await page.locator(`.swagger-ui .opblock-summary-path[data-path="${op.path}"]`).first().waitFor();
    const summary = page.locator(`.swagger-ui .opblock:has(.opblock-summary-path[data-path="${op.path}"]) .opblock-summary-control`).first();
    await summary.click();
    const opblock = page.locator(`.swagger-ui .opblock.is-open`).first();
    await opblock.locator("button.execute").click();
    const status = opblock.locator(".live-responses-table tbody .response-col_status").first();
    await status.waitFor();
    const code = (await status.textContent()).trim();
    check(code.startsWith("200"), `${api.name}: Try-it ${op.method} ${op.path} answers ${code}`);
    const started = Date.now();
    await page.click('header a[data-view="requests"]');
    const row = page.locator(`#request-rows tr:has-text("${op.id}")`).first();
    await row.waitFor({ timeout: 1000 });
    check(Date.now() - started <= 1000, `${api.name}: the Try-it call is in the recent requests within one second`);
    await page.click('header a[data-view="apis"]');
  }

  // 3. A request made with curl appears too, and its exchange opens, the token masked.
  const oes = catalogue.apis.find((a) => a.operations.some((o) => o.tryIt.enterpriseId)) || catalogue.apis[0];
  const listed = oes.operations.find((o) => o.tryIt.enterpriseId) || oes.operations[0];
  const listUrl = base + listed.route.replace(/\{(\w+)\}/g, (_, p) => listed.tryIt[p]) + "?pageSize=2";
  await page.click('header a[data-view="requests"]');
  check(curl(listUrl, "-H", `Authorization: Bearer ${oes.token}`) === "200", "curl's request answers 200");
  const curlRow = page.locator('#request-rows tr:has-text("curl-from-the-test")').first();
  await curlRow.waitFor({ timeout: 1000 });
  check(true, "a request made with curl appears in the recent requests");
  await curlRow.click();
  // The whole exchange is fetched on the click.
  await page.locator('#exchange h3:has-text("Response body")').waitFor();
  const exchange = await page.locator("#exchange").textContent();
  check(exchange.includes("Response body") && exchange.includes("x-request-id"), "the exchange shows headers and body");
  check(!exchange.includes(oes.token) || oes.token.length < 16, "the bearer token is masked in the exchange");
  await page.selectOption("#filter-status", "4");
  check((await page.locator('#request-rows tr:has-text("curl-from-the-test")').count()) === 0, "filtering by 4xx hides the 200");
  await page.selectOption("#filter-status", "");
  await page.screenshot({ path: `${shots}/requests${suffix}.png` });

  // 4. A scenario forces the next call's status for every caller; clearing it restores.
  await page.click('header a[data-view="scenarios"]');
  const forced = listed.statuses.find((s) => s >= 500) || listed.statuses.find((s) => s >= 400);
  await page.selectOption("#sc-operation", listed.id);
  await page.selectOption("#sc-status", String(forced));
  await page.click('#scenario-form button[type="submit"]');
  await page.locator(`#scenario-rows tr:has-text("${listed.id}")`).waitFor();
  check(await page.locator("#scenario-badge").isVisible(), "active scenarios show in the header");
  await page.screenshot({ path: `${shots}/scenarios${suffix}.png` });
  check(curl(listUrl, "-H", `Authorization: Bearer ${oes.token}`) === String(forced), `the next call answers the forced ${forced}`);
  await page.click("#sc-clear-all");
  await page.locator(`#scenario-rows tr:has-text("${listed.id}")`).waitFor({ state: "detached" });
  check(curl(listUrl, "-H", `Authorization: Bearer ${oes.token}`) === "200", "clearing the scenario restores the normal answer");

  // 5. The data table pages, and a record's JSON opens.
  await page.click('header a[data-view="data"]');
  const big = catalogue.apis.flatMap((a) => a.collections.map((c) => [a.name, c])).find(([, c]) => c.records > 25);
  check(big, "a collection has more than one page");
  await page.click(`#collections button[data-collection="${big[0]}/${big[1].name}"]`);
  await page.locator("#data-range", { hasText: `1–25 of ${big[1].records}` }).waitFor();
  await page.click("#data-next");
  await page.locator("#data-range", { hasText: `26–50 of ${big[1].records}` }).waitFor();
  check((await page.locator("#data-rows tr").count()) === 25, `${big[1].name}: the second page holds 25 records`);
  await page.locator("#data-rows tr").first().click();
  const json = JSON.parse(await page.locator("#record-json").textContent());
  check(typeof json === "object", "a record's JSON opens");
  await page.screenshot({ path: `${shots}/data${suffix}.png` });

  // 6. Health.
  await page.click('header a[data-view="health"]');
  await page.locator("#health-cards .card").first().waitFor();
  const health = await page.locator("#health-cards").textContent();
  check(catalogue.apis.every((a) => health.includes(`${a.operations.length} operations`)), "health shows what is loaded");
  await page.screenshot({ path: `${shots}/health${suffix}.png` });
  if (!adminToken) {
    await page.click('header a[data-view="requests"]');
    await page.screenshot({ path: `${shots}/console.png` });
  }
} finally {
  // Closing the page ends the live feed's fetch, which is not a failure.
  page.removeAllListeners("requestfailed");
  page.removeAllListeners("console");
  await browser.close();
}

if (problems.length) {
  console.error(problems.join("\n"));
  process.exit(1);
}
console.log(`console${suffix}: no console errors, no failed requests`);
