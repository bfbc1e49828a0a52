// End-to-end tests of the web console: the real nicplane binary (--demo, a
// fresh SQLite data dir, a free loopback port) driven through Debian's
// Chromium by playwright-core. The tests run in order and share one browser
// page, like a person clicking through the console guide.
//
// Environment (set by run.sh, which starts the server):
//   NICPLANE_URL            the server, started with --demo and a small public pool
//   NICPLANE_ADMIN_PASSWORD the cloud admin's password
//   SCREENSHOT_DIR          where the screenshots go
//   CHROMIUM_PATH           the browser (default /usr/bin/chromium)

import { test as nodeTest, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

// No test may hang: each fails after two minutes (works on every Node with node:test).
const TEST_TIMEOUT_MS = 120_000;
const test = (name, fn) => nodeTest(name, { timeout: TEST_TIMEOUT_MS }, fn);

const base = process.env.NICPLANE_URL;
const ADMIN_PASSWORD = process.env.NICPLANE_ADMIN_PASSWORD;
const SCREENSHOT_DIR = process.env.SCREENSHOT_DIR;
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const DEMO_PASSWORD = 'demo-password';
const TIMEOUT = 10_000;

let profileDir;
let context;
let page;
let demo; // { id } of the demo project
const externalRequests = [];
const pageErrors = [];
// axe-core (pinned in package.json), injected into the page under test.
const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const a11yChecked = new Set();

// ------------------------------------------------------------- helpers --

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Retry an assertion until it holds or the timeout passes. */
async function eventually(fn, timeout = TIMEOUT) {
  const end = Date.now() + timeout;
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      if (Date.now() > end) throw e;
      await sleep(100);
    }
  }
}

/** Call the native API from the test (setup and checks, never the UI's work). */
async function call(method, p, token, body) {
  const headers = { Accept: 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const resp = await fetch(`${base}${p}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await resp.text();
  return { status: resp.status, body: text ? JSON.parse(text) : null };
}

async function tokenOf(user, password) {
  const r = await call('POST', '/v1/auth/login', null, { username: user, password });
  assert.equal(r.status, 200, `login of ${user}: ${JSON.stringify(r.body)}`);
  return r.body.token;
}

async function shot(name) {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  await page.screenshot({ path: path.join(SCREENSHOT_DIR, name), fullPage: true });
}

/** The same screenshot at a desktop width and at a phone width. */
async function shotAtWidths(name) {
  await shot(`${name}.png`);
  await page.setViewportSize({ width: 390, height: 844 });
  try {
    await shot(`${name}-phone.png`);
  } finally {
    await page.setViewportSize({ width: 1280, height: 900 });
  }
}

/**
 * Run axe-core on the page as it is now (open dialogs included) and fail on
 * any serious or critical violation, naming the rule and the elements.
 */
async function checkA11y(name) {
  if (!(await page.evaluate(() => typeof window.axe === 'object'))) await page.evaluate(AXE_SOURCE);
  const { passed, violations } = await page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ['violations'] });
    return {
      passed: r.passes.length,
      violations: r.violations.map((v) => ({
        rule: v.id,
        impact: v.impact,
        help: v.help,
        nodes: v.nodes.slice(0, 5).map((n) => n.target.join(' ')),
      })),
    };
  });
  assert.ok(passed > 0, `${name}: axe checked nothing`);
  const minor = violations.filter((v) => v.impact !== 'serious' && v.impact !== 'critical');
  if (minor.length) console.log(`[a11y] ${name}: ${JSON.stringify(minor)}`);
  const bad = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(bad, [], `${name}: serious or critical accessibility violations`);
  a11yChecked.add(name);
}

const byTestId = (id) => page.locator(`[data-testid="${id}"]`);
const dialog = () => page.locator('#edit-vm-dialog');
const editRows = () => dialog().locator('[data-testid="edit-interface-row"]');
const editRow = (network, nth = 0) => dialog().locator(`[data-testid="edit-interface-row"][data-network-name="${network}"]`).nth(nth);
const primaryEditRow = () => dialog().locator('[data-testid="edit-interface-row"][data-primary="true"]');
const detailRows = () => page.locator('#vm-interfaces-body [data-testid="interface-row"]');

/** The message of a notice (without its close button). */
async function noticeText(id = 'notice') {
  const n = byTestId(id);
  await n.waitFor({ state: 'visible', timeout: TIMEOUT });
  return n.locator('.notice-text').innerText();
}

/** The notice shows exactly a readable sentence, never a raw JSON body. */
async function expectNotice(id, pattern) {
  const text = await eventually(async () => {
    const t = await noticeText(id);
    assert.match(t, pattern);
    return t;
  });
  assert.ok(!/[{}]|"error"|"code"/.test(text), `raw error dump in notice: ${text}`);
  return text;
}

async function login(user) {
  await page.goto(`${base}/console/#/login`);
  await page.locator('#login-username').fill(user);
  await page.locator('#login-password').fill(DEMO_PASSWORD);
  await page.locator('#login-submit').click();
  await byTestId('vms-view').waitFor({ state: 'visible', timeout: TIMEOUT });
  await eventually(async () => assert.equal(await page.locator('#whoami').innerText(), user));
}

async function logout() {
  await page.locator('#logout-button').click();
  await byTestId('login-view').waitFor({ state: 'visible', timeout: TIMEOUT });
}

async function gotoVmList() {
  await page.locator('#nav-vms').click();
  await byTestId('vms-view').waitFor({ state: 'visible', timeout: TIMEOUT });
}

async function openVm(name) {
  await gotoVmList();
  await page.locator(`[data-testid="vm-row"][data-vm-name="${name}"] [data-testid="vm-link"]`).click();
  await byTestId('vm-view').waitFor({ state: 'visible', timeout: TIMEOUT });
  await eventually(async () => assert.equal(await page.locator('#vm-title').innerText(), name));
}

async function openEdit() {
  await page.locator('#edit-vm-button').click();
  await dialog().waitFor({ state: 'visible', timeout: TIMEOUT });
}

async function closeEdit() {
  await page.locator('#edit-vm-close').click();
  await dialog().waitFor({ state: 'hidden', timeout: TIMEOUT });
}

async function addInterface(networkName) {
  await page.locator('#add-interface-button').click();
  const select = page.locator('#add-interface-network');
  await select.waitFor({ state: 'visible', timeout: TIMEOUT });
  const value = await select.locator('option', { hasText: networkName }).first().getAttribute('value');
  await select.selectOption(value);
  await page.locator('#add-interface-confirm').click();
}

async function confirm(pattern) {
  const d = byTestId('confirm-dialog');
  await d.waitFor({ state: 'visible', timeout: TIMEOUT });
  const message = await byTestId('confirm-message').innerText();
  if (pattern) assert.match(message, pattern);
  await byTestId('confirm-ok').click();
  await d.waitFor({ state: 'hidden', timeout: TIMEOUT });
  return message;
}

/** Mark the window: a full page reload would drop the mark. */
async function markWindow() {
  await page.evaluate(() => { window.__noReload = true; });
}

async function assertNoReload() {
  assert.equal(await page.evaluate(() => window.__noReload === true), true, 'the page was reloaded');
}

/** Call the API from inside the page, with the console's own session token. */
async function callFromPage(method, p) {
  return page.evaluate(async ([m, url]) => {
    const token = sessionStorage.getItem('nicplane.token');
    const r = await fetch(url, { method: m, headers: { Authorization: `Bearer ${token}` } });
    const text = await r.text();
    return { status: r.status, body: text ? JSON.parse(text) : null };
  }, [method, p]);
}

// --------------------------------------------------------------- setup --

before(async () => {
  assert.ok(base, 'NICPLANE_URL must point at a running nicplane --demo');
  assert.ok(ADMIN_PASSWORD, 'NICPLANE_ADMIN_PASSWORD must be set');
  assert.ok(SCREENSHOT_DIR, 'SCREENSHOT_DIR must be set');
  profileDir = mkdtempSync(path.join(os.tmpdir(), 'nicplane-console-chromium-'));

  // Fixtures a person would get from a cloud admin: a second data center
  // (to check that Add Interface offers only the VM's data center) and a
  // second project for alice (to check the project switcher).
  const admin = await tokenOf('admin', ADMIN_PASSWORD);
  const dc2 = await call('POST', '/v1/data-centers', admin, { name: 'dc2' });
  assert.equal(dc2.status, 201, JSON.stringify(dc2.body));
  const staging = await call('POST', '/v1/projects', admin, { name: 'staging', description: 'Second project' });
  assert.equal(staging.status, 201, JSON.stringify(staging.body));
  const users = await call('GET', '/v1/users', admin);
  const alice = users.body.find((u) => u.name === 'alice');
  const member = await call('PUT', `/v1/projects/${staging.body.id}/members/${alice.id}`, admin, { role: 'power_user' });
  assert.equal(member.status, 200, JSON.stringify(member.body));
  const projects = await call('GET', '/v1/projects', admin);
  demo = projects.body.find((p) => p.name === 'demo');
  assert.ok(demo, 'the demo project exists');

  context = await chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 900 },
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  page = context.pages()[0] || (await context.newPage());
  page.setDefaultTimeout(TIMEOUT);
  page.on('request', (r) => {
    const u = r.url();
    if (!u.startsWith(base) && !u.startsWith('data:') && !u.startsWith('about:')) externalRequests.push(u);
  });
  page.on('pageerror', (e) => pageErrors.push(String(e)));
});

after(async () => {
  if (context) await context.close().catch(() => {});
  if (profileDir) rmSync(profileDir, { recursive: true, force: true });
});

// --------------------------------------------------------------- tests --

test('/ redirects to the console, and a wrong password shows the API message', async () => {
  const resp = await page.goto(`${base}/`);
  assert.equal(resp.status(), 200);
  assert.equal(new URL(page.url()).pathname, '/console/');
  await byTestId('login-view').waitFor({ state: 'visible' });
  await page.locator('#login-username').fill('alice');
  await page.locator('#login-password').fill('not-the-password');
  await page.locator('#login-submit').click();
  await expectNotice('notice', /password|credentials|user name/i);
  assert.equal(await byTestId('vms-view').isVisible(), false);
  await checkA11y('login');
});

test('alice logs in and sees the VM list with data center, OS, power state and IPs', async () => {
  await login('alice');
  assert.equal(await byTestId('role-badge').innerText(), 'Tenant Administrator');
  const row = (name) => page.locator(`[data-testid="vm-row"][data-vm-name="${name}"]`);
  await eventually(async () => assert.equal(await page.locator('[data-testid="vm-row"]').count(), 3));
  for (const name of ['web-1', 'db-1', 'win-1']) {
    const cells = await row(name).locator('td').allInnerTexts();
    assert.equal(cells[0], name);
    assert.equal(cells[1], 'dc1');
    assert.equal(cells[2], name === 'win-1' ? 'Windows' : 'Linux');
    assert.equal(cells[3], 'Running');
    assert.match(cells[4], /^10\.0\.\d+\.\d+$/, `primary private IP of ${name}`);
    assert.equal(cells[5], '—', `public IP of ${name}`);
  }
  await shot('vm-list.png');
  await checkA11y('vm-list');
});

test('the project switcher lists the projects of the user and switches between them', async () => {
  const options = await page.locator('#project-switcher option').allInnerTexts();
  assert.deepEqual(options.sort(), ['demo', 'staging']);
  await markWindow();
  await page.locator('#project-switcher').selectOption({ label: 'staging' });
  await eventually(async () => assert.equal(await page.locator('#vm-empty').isVisible(), true));
  assert.equal(await byTestId('role-badge').innerText(), 'Tenant Power User');
  assert.equal(await page.locator('[data-testid="vm-row"]').count(), 0);
  await page.locator('#project-switcher').selectOption({ label: 'demo' });
  await eventually(async () => assert.equal(await page.locator('[data-testid="vm-row"]').count(), 3));
  await assertNoReload();
});

test('the Networks page shows kinds and free addresses, and an admin creates a custom network', async () => {
  await page.locator('#nav-networks').click();
  await byTestId('networks-view').waitFor({ state: 'visible' });
  const dc1 = page.locator('[data-testid="dc-section"][data-dc-name="dc1"]');
  const dbNet = dc1.locator('[data-testid="network-row"][data-network-name="db-net"]');
  await dbNet.waitFor();
  assert.equal(await dbNet.locator('[data-testid="network-kind"]').innerText(), 'Standard (L3)');
  // 10.20.0.0/24 minus network, broadcast, gateway and db-1's address.
  const dbApi = await call('GET', `/v1/projects/${demo.id}/networks?name=db-net`, await tokenOf('alice', DEMO_PASSWORD));
  const free = dbApi.body.items[0].subnets[0].free_addresses;
  assert.equal(await dbNet.locator('[data-testid="subnet-free"]').innerText(), Number(free).toLocaleString('en-US'));
  const l2 = dc1.locator('[data-testid="network-row"][data-network-name="storage-l2"]');
  assert.equal(await l2.locator('[data-testid="network-kind"]').innerText(), 'Custom (L2)');

  await markWindow();
  assert.equal(await byTestId('network-create-form').isVisible(), true);
  await page.locator('#network-create-name').fill('far-l2');
  await page.locator('#network-create-dc').selectOption({ label: 'dc2' });
  await page.locator('#network-create-kind').selectOption('custom');
  await page.locator('#network-create-submit').click();
  await expectNotice('notice', /far-l2 was created/);
  const dc2Row = page.locator('[data-testid="dc-section"][data-dc-name="dc2"] [data-testid="network-row"][data-network-name="far-l2"]');
  await dc2Row.waitFor();
  assert.equal(await dc2Row.locator('[data-testid="network-kind"]').innerText(), 'Custom (L2)');

  // A refusal of the API is shown as its message.
  await page.locator('#network-create-name').fill('bad<name>');
  await page.locator('#network-create-submit').click();
  await expectNotice('notice', /name: must not contain/);
  assert.equal(await byTestId('notice').getAttribute('class'), 'notice error');
  await assertNoReload();
  await shot('networks.png');
  await checkA11y('networks');
});

test('the VM detail page lists interfaces in the Network section with the primary marked', async () => {
  await openVm('web-1');
  await eventually(async () => assert.equal(await detailRows().count(), 1));
  const row = detailRows().first();
  assert.equal(await row.getAttribute('data-network-name'), 'Default Network');
  assert.equal(await row.getAttribute('data-primary'), 'true');
  assert.equal(await row.locator('[data-testid="primary-marker"]').count(), 1);
  assert.match(await row.locator('[data-testid="interface-private-ips"]').innerText(), /10\.0\.\d+\.\d+/);
  assert.equal(await row.locator('[data-testid="interface-public-ip"]').innerText(), '—');
  await checkA11y('vm-detail');
});

test('Add Interface offers only networks of the VM\'s data center and stops at the limit of 5', async () => {
  await markWindow();
  await openEdit();
  await eventually(async () => assert.equal(await editRows().count(), 1));
  await page.locator('#add-interface-button').click();
  await page.locator('#add-interface-network').waitFor({ state: 'visible' });
  const offered = await page.locator('#add-interface-network option').allInnerTexts();
  assert.ok(offered.some((o) => o.startsWith('db-net')), `offered: ${offered}`);
  assert.ok(offered.some((o) => o.startsWith('storage-l2')), `offered: ${offered}`);
  assert.ok(!offered.some((o) => o.startsWith('far-l2')), `a dc2 network is offered: ${offered}`);
  // dc2 has its own Default Network; only dc1's is offered.
  assert.equal(offered.filter((o) => o.startsWith('Default Network')).length, 1, `offered: ${offered}`);
  await page.locator('#add-interface-cancel').click();

  const plan = ['db-net', 'db-net', 'storage-l2', 'storage-l2'];
  for (const [n, network] of plan.entries()) {
    await addInterface(network);
    await expectNotice('edit-vm-notice', new RegExp(`Added an interface on ${network}`));
    await eventually(async () => assert.equal(await editRows().count(), n + 2));
    // The page behind the dialog follows without a reload.
    await eventually(async () => assert.equal(await detailRows().count(), n + 2));
  }
  assert.equal(await primaryEditRow().count(), 1);

  await addInterface('db-net');
  await expectNotice('edit-vm-notice', /already has 5 network interfaces, the maximum is 5/);
  assert.equal(await byTestId('edit-vm-notice').getAttribute('role'), 'alert');
  assert.equal(await editRows().count(), 5);
  await assertNoReload();
  await page.locator('#add-interface-cancel').click();
});

test('an L2 interface offers no Allocate Public IP and explains why', async () => {
  const l2 = editRow('storage-l2');
  assert.equal(await l2.locator('[data-testid="allocate-public-ip"]').count(), 0);
  assert.match(await l2.locator('[data-testid="no-public-ip-explanation"]').innerText(), /custom \(L2\) network/);
  const l3 = editRow('db-net');
  assert.equal(await l3.locator('[data-testid="allocate-public-ip"]').count(), 1);
  assert.equal(await l3.locator('[data-testid="no-public-ip-explanation"]').count(), 0);
  await shot('edit-vm-dialog.png');
});

test('an interface is removed after confirmation; the primary offers no delete and the API refuses it', async () => {
  await markWindow();
  // Cancelling the confirmation keeps the interface.
  await editRow('db-net', 1).locator('[data-testid="delete-interface"]').click();
  await byTestId('confirm-dialog').waitFor({ state: 'visible' });
  assert.match(await byTestId('confirm-message').innerText(), /Remove the interface on db-net/);
  await byTestId('confirm-cancel').click();
  await byTestId('confirm-dialog').waitFor({ state: 'hidden' });
  assert.equal(await editRows().count(), 5);

  await editRow('db-net', 1).locator('[data-testid="delete-interface"]').click();
  await confirm(/Remove the interface on db-net .* from VM web-1/);
  await expectNotice('edit-vm-notice', /Removed the interface on db-net/);
  await eventually(async () => assert.equal(await editRows().count(), 4));
  await eventually(async () => assert.equal(await detailRows().count(), 4));

  const primary = primaryEditRow();
  assert.equal(await primary.locator('[data-testid="delete-interface"]').count(), 0);
  assert.equal(await primary.locator('[data-testid="primary-note"]').innerText(), 'The primary interface cannot be removed.');
  // Every other interface has its delete icon.
  assert.equal(await dialog().locator('[data-testid="delete-interface"]').count(), 3);

  const vmId = await page.evaluate(() => location.hash.split('/').pop());
  const primaryId = await primary.getAttribute('data-interface-id');
  const refused = await callFromPage('DELETE', `/v1/projects/${demo.id}/vms/${vmId}/interfaces/${primaryId}`);
  assert.equal(refused.status, 409);
  assert.match(refused.body.error.message, /primary interface of its VM and cannot be removed/);
  await assertNoReload();
});

test('a public IP is allocated and released, and the next allocation gets another address', async () => {
  const primary = primaryEditRow();
  await primary.locator('[data-testid="allocate-public-ip"]').click();
  await expectNotice('edit-vm-notice', /Allocated public IP 203\.0\.113\.\d+/);
  const first = await eventually(async () => {
    const t = await primary.locator('[data-testid="edit-public-ip"]').innerText();
    assert.match(t, /^203\.0\.113\.\d+$/);
    return t;
  });
  await eventually(async () =>
    assert.equal(await page.locator('#vm-interfaces-body [data-primary="true"] [data-testid="interface-public-ip"]').innerText(), first));

  await primary.locator('[data-testid="release-public-ip"]').click();
  const warning = await confirm(/cannot be reclaimed/);
  assert.match(warning, new RegExp(first.replace(/\./g, '\\.')));
  assert.match(warning, /different address/);
  await expectNotice('edit-vm-notice', new RegExp(`Released public IP ${first.replace(/\./g, '\\.')}`));
  await eventually(async () => assert.equal(await primary.locator('[data-testid="edit-public-ip"]').innerText(), 'none'));
  assert.equal(await primary.locator('[data-testid="allocate-public-ip"]').count(), 1);

  await primary.locator('[data-testid="allocate-public-ip"]').click();
  const second = await eventually(async () => {
    const t = await primary.locator('[data-testid="edit-public-ip"]').innerText();
    assert.match(t, /^203\.0\.113\.\d+$/);
    return t;
  });
  assert.notEqual(second, first, 'a released public IP came back on the next allocation');

  await closeEdit();
  const detailPublic = page.locator('#vm-interfaces-body [data-primary="true"] [data-testid="interface-public-ip"]');
  assert.equal(await detailPublic.innerText(), second);
  await shot('vm-detail.png');
  await gotoVmList();
  const listPublic = page.locator('[data-testid="vm-row"][data-vm-name="web-1"] [data-testid="vm-public-ip"]');
  await eventually(async () => assert.equal(await listPublic.innerText(), second));
});

test('an exhausted public pool is reported with the API message', async () => {
  const alice = await tokenOf('alice', DEMO_PASSWORD);
  const dcs = await call('GET', '/v1/data-centers', alice);
  const dc1 = dcs.body.find((d) => d.name === 'dc1');
  const fillers = [];
  for (let i = 0; i < 64; i += 1) {
    const r = await call('POST', `/v1/projects/${demo.id}/public-ips`, alice, { data_center_id: dc1.id });
    if (r.status !== 201) {
      assert.equal(r.status, 409, JSON.stringify(r.body));
      break;
    }
    fillers.push(r.body.id);
  }
  assert.ok(fillers.length > 0 && fillers.length < 64, `filled the pool with ${fillers.length} addresses`);
  try {
    await openVm('db-1');
    await openEdit();
    await primaryEditRow().locator('[data-testid="allocate-public-ip"]').click();
    await expectNotice('edit-vm-notice', /exhausted/);
    assert.equal(await primaryEditRow().locator('[data-testid="edit-public-ip"]').innerText(), 'none');
    await closeEdit();
  } finally {
    for (const id of fillers) await call('DELETE', `/v1/projects/${demo.id}/public-ips/${id}`, alice);
  }
});

test('a running Windows VM refuses new interfaces until it is stopped', async () => {
  await openVm('win-1');
  await openEdit();
  await addInterface('db-net');
  await expectNotice('edit-vm-notice', /runs Windows and is running: stop the VM/);
  assert.equal(await editRows().count(), 1);
  await page.locator('#add-interface-cancel').click();
  await closeEdit();

  await page.locator('#vm-actions [data-testid="vm-stop"]').click();
  await eventually(async () => assert.equal(await page.locator('#vm-power').innerText(), 'Stopped'));
  await openEdit();
  await addInterface('db-net');
  await expectNotice('edit-vm-notice', /Added an interface on db-net/);
  await eventually(async () => assert.equal(await editRows().count(), 2));
  await closeEdit();
});

test('a VM is created, stopped, started and deleted from the list', async () => {
  await gotoVmList();
  await markWindow();
  await page.locator('#vm-create-name').fill('app-1');
  await page.locator('#vm-create-dc').selectOption({ label: 'dc1' });
  await page.locator('#vm-create-os').selectOption('linux');
  await page.locator('#vm-create-submit').click();
  await expectNotice('notice', /VM app-1 was created/);
  const row = page.locator('[data-testid="vm-row"][data-vm-name="app-1"]');
  await row.waitFor();
  assert.equal(await row.locator('[data-testid="power-state"]').innerText(), 'Running');
  assert.match(await row.locator('[data-testid="vm-private-ip"]').innerText(), /^10\.0\./);

  await row.locator('[data-testid="vm-stop"]').click();
  await eventually(async () => assert.equal(await row.locator('[data-testid="power-state"]').innerText(), 'Stopped'));
  await row.locator('[data-testid="vm-start"]').click();
  await eventually(async () => assert.equal(await row.locator('[data-testid="power-state"]').innerText(), 'Running'));

  // A name the API refuses is reported with the API's message.
  await page.locator('#vm-create-name').fill('app<1>');
  await page.locator('#vm-create-submit').click();
  await expectNotice('notice', /name: must not contain/);
  assert.equal(await byTestId('notice').getAttribute('class'), 'notice error');

  await row.locator('[data-testid="vm-delete"]').click();
  await confirm(/VM app-1 and its network interfaces will be deleted/);
  await expectNotice('notice', /VM app-1 was deleted/);
  await eventually(async () => assert.equal(await row.count(), 0));
  await assertNoReload();
});

test('the project quotas show used and limit per resource, and port usage follows a VM create and delete', async () => {
  await gotoVmList();
  const row = (r) => page.locator(`[data-testid="quota-row"][data-resource="${r}"]`);
  const used = async (r) => Number(await row(r).locator('[data-testid="quota-used"]').innerText());
  await row('port').waitFor();
  assert.equal(await row('port').locator('[data-testid="quota-limit"]').innerText(), '500');
  assert.equal(await row('floatingip').locator('[data-testid="quota-limit"]').innerText(), '50');
  assert.equal(await row('security_group').locator('td').first().innerText(), 'Security groups');
  // The API's own numbers are what the page shows.
  const api = await callFromPage('GET', `/v1/projects/${demo.id}/quotas`);
  assert.equal(api.status, 200);
  const apiPort = api.body.quotas.find((q) => q.resource === 'port');
  const before = await used('port');
  assert.equal(before, apiPort.used);

  await page.locator('#vm-create-name').fill('quota-vm');
  await page.locator('#vm-create-dc').selectOption({ label: 'dc1' });
  await page.locator('#vm-create-submit').click();
  await expectNotice('notice', /VM quota-vm was created/);
  await eventually(async () => assert.equal(await used('port'), before + 1, 'the primary interface counts'));

  const vmRow = page.locator('[data-testid="vm-row"][data-vm-name="quota-vm"]');
  await vmRow.locator('[data-testid="vm-delete"]').click();
  await confirm(/VM quota-vm and its network interfaces will be deleted/);
  await expectNotice('notice', /VM quota-vm was deleted/);
  await eventually(async () => assert.equal(await used('port'), before));
});

test('the Activity page lists the project\'s newest changes first, with who made them', async () => {
  // The previous test created and deleted quota-vm: its delete is the newest change.
  await byTestId('nav-activity').click();
  await byTestId('activity-view').waitFor({ state: 'visible', timeout: TIMEOUT });
  const rows = page.locator('[data-testid="activity-row"]');
  await eventually(async () => assert.ok((await rows.count()) >= 4, 'rows'));
  const user = await page.locator('#whoami').innerText();
  assert.equal(await rows.nth(0).getAttribute('data-kind'), 'vm');
  assert.equal(await rows.nth(0).getAttribute('data-action'), 'delete');
  assert.equal(await rows.nth(0).locator('[data-testid="activity-user"]').innerText(), user);
  assert.equal(await rows.nth(1).getAttribute('data-kind'), 'interface');
  const seqs = await rows.evaluateAll((rs) => rs.map((r) => Number(r.dataset.seq)));
  assert.deepEqual(seqs, [...seqs].sort((a, b) => b - a), 'newest first');
  const api = await callFromPage('GET', `/v1/events?latest=true&limit=100&project_id=${demo.id}`);
  assert.equal(api.status, 200);
  assert.equal(api.body.events.at(-1).seq, seqs[0]);
  await shot('activity.png');
  await checkA11y('activity');
});

test('supplementary (VLAN) interfaces are shown under their parent', async () => {
  // Supplementary interfaces are made through the native API (the console
  // only lists them, with GET .../interfaces?parent_id=).
  const alice = await tokenOf('alice', DEMO_PASSWORD);
  const vms = await call('GET', `/v1/projects/${demo.id}/vms?name=db-1`, alice);
  const db1 = vms.body.items[0];
  const parent = db1.interfaces.find((i) => i.network_name === 'db-net');
  assert.ok(parent, 'db-1 has an interface on db-net');
  const created = await call('POST', `/v1/projects/${demo.id}/interfaces/${parent.id}/supplementary-interfaces`, alice,
    { network_id: parent.network_id, vlan_id: 42 });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const childIp = created.body.fixed_ips[0].ip_address;

  await openVm('db-1');
  const child = page.locator(`#vm-interfaces-body [data-testid="supplementary-row"][data-parent-id="${parent.id}"]`);
  await child.waitFor();
  const text = await child.innerText();
  assert.match(text, /VLAN 42/);
  assert.ok(text.includes(childIp), `the child row shows ${childIp}: ${text}`);
  // It is listed right after its parent, and is not counted as a VM interface.
  const order = await page.locator('#vm-interfaces-body tr').evaluateAll((rows) => rows.map((r) => r.dataset.interfaceId));
  assert.equal(order[order.indexOf(parent.id) + 1], created.body.id);
  assert.equal(await detailRows().count(), 2);
  await shot('vm-detail-supplementary.png');

  // Removing the parent is refused by the API while it carries a child.
  await markWindow();
  await openEdit();
  const childItem = dialog().locator(`[data-testid="edit-supplementary-row"][data-interface-id="${created.body.id}"]`);
  assert.match(await childItem.innerText(), /VLAN 42/);
  await editRow('db-net').locator('[data-testid="delete-interface"]').click();
  await confirm(/Remove the interface on db-net/);
  await expectNotice('edit-vm-notice', /still carries 1 supplementary interface/);
  assert.equal(await editRows().count(), 2);
  await closeEdit();
  await assertNoReload();
});

test('supplementary (VLAN) interfaces are created under their parent and deleted in Edit VM', async () => {
  await openVm('db-1');
  await markWindow();
  await openEdit();
  const parentId = await editRow('db-net').getAttribute('data-interface-id');
  const children = () => dialog().locator('[data-testid="edit-supplementary-row"]');
  const vlanItem = (vlan) => dialog().locator(`[data-testid="edit-supplementary-row"][data-vlan="${vlan}"]`);
  await eventually(async () => assert.equal(await children().count(), 1));

  await page.locator('#add-supplementary-button').click();
  await page.locator('#add-supplementary-parent').waitFor({ state: 'visible' });
  const parents = await page.locator('#add-supplementary-parent option').evaluateAll((os) => os.map((o) => o.value));
  assert.equal(parents.length, 2, 'both interfaces of db-1 can be a parent');
  assert.ok(parents.includes(parentId));
  const networks = await page.locator('#add-supplementary-network option').allInnerTexts();
  assert.ok(networks.includes('db-net'), `offered: ${networks}`);
  assert.ok(!networks.includes('storage-l2'), `a custom network is offered: ${networks}`);
  assert.ok(!networks.includes('far-l2'), `a dc2 network is offered: ${networks}`);
  await page.locator('#add-supplementary-parent').selectOption(parentId);
  await page.locator('#add-supplementary-network').selectOption({ label: 'db-net' });
  await page.locator('#add-supplementary-confirm').click();
  // VLAN 42 is taken on that parent; the lowest free one is 1.
  await expectNotice('edit-vm-notice', /^Added a supplementary interface on VLAN 1 of network db-net with private IP 10\.20\.0\.\d+\.$/);
  await vlanItem(1).waitFor();
  assert.equal(await children().count(), 2);
  assert.equal(await byTestId('add-supplementary-form').isVisible(), false);

  // A VLAN already used on the parent is refused with the API's message.
  await page.locator('#add-supplementary-button').click();
  await page.locator('#add-supplementary-parent').selectOption(parentId);
  await page.locator('#add-supplementary-network').selectOption({ label: 'db-net' });
  await page.locator('#add-supplementary-vlan').fill('42');
  await page.locator('#add-supplementary-confirm').click();
  const refused = await expectNotice('edit-vm-notice', /already used/);
  assert.equal(refused, `VLAN 42 is already used on parent interface ${parentId}.`);
  assert.equal(await children().count(), 2);
  // Checked with the form open, so its fields are checked too.
  await checkA11y('edit-vm-dialog');
  await page.locator('#add-supplementary-cancel').click();
  await shotAtWidths('edit-vm-supplementary');

  // The detail page lists both under the parent.
  const detailChildren = page.locator(`#vm-interfaces-body [data-testid="supplementary-row"][data-parent-id="${parentId}"]`);
  assert.deepEqual(await detailChildren.evaluateAll((rows) => rows.map((r) => r.dataset.vlan)), ['1', '42']);

  await vlanItem(1).locator('[data-testid="delete-supplementary"]').click();
  await byTestId('confirm-dialog').waitFor({ state: 'visible' });
  await checkA11y('confirm-dialog');
  await confirm(/^Remove the supplementary interface VLAN 1 on db-net \(10\.20\.0\.\d+\)\? Its private IP addresses are released\.$/);
  await expectNotice('edit-vm-notice', /^Removed the supplementary interface on VLAN 1\.$/);
  await eventually(async () => assert.equal(await children().count(), 1));
  const left = await callFromPage('GET', `/v1/projects/${demo.id}/interfaces/${parentId}/supplementary-interfaces`);
  assert.deepEqual(left.body.items.map((i) => i.vlan_id), [42]);
  await closeEdit();
  assert.deepEqual(await detailChildren.evaluateAll((rows) => rows.map((r) => r.dataset.vlan)), ['42']);
  await assertNoReload();
});

test('an admin adds IPv4 and IPv6 subnets, deletes them and deletes networks on the Networks page', async () => {
  await page.locator('#nav-networks').click();
  await byTestId('networks-view').waitFor({ state: 'visible' });
  await markWindow();
  await page.locator('#network-create-name').fill('app-net');
  await page.locator('#network-create-dc').selectOption({ label: 'dc1' });
  await page.locator('#network-create-kind').selectOption('standard');
  await page.locator('#network-create-submit').click();
  await expectNotice('notice', /^Network app-net was created\.$/);
  const dc1 = page.locator('[data-testid="dc-section"][data-dc-name="dc1"]');
  const row = (name) => dc1.locator(`[data-testid="network-row"][data-network-name="${name}"]`);
  const subnets = (name) => row(name).locator('[data-testid="subnet-line"]').evaluateAll((ls) => ls.map((l) => l.dataset.subnet));
  await row('app-net').waitFor();
  assert.deepEqual(await subnets('app-net'), []);

  const addSubnet = async (cidr) => {
    await page.locator('#subnet-create-network').selectOption({ label: 'app-net (dc1)' });
    await page.locator('#subnet-create-cidr').fill(cidr);
    await page.locator('#subnet-create-submit').click();
  };
  await addSubnet('10.40.0.0/24');
  await expectNotice('notice', /^Subnet 10\.40\.0\.0\/24 was added to network app-net\.$/);
  await addSubnet('fd00:40::/64');
  await expectNotice('notice', /^Subnet fd00:40::\/64 was added to network app-net\.$/);
  await eventually(async () => assert.deepEqual(await subnets('app-net'), ['10.40.0.0/24', 'fd00:40::/64']));
  const free = await row('app-net').locator('[data-testid="subnet-free"]').allInnerTexts();
  assert.equal(free[0], '253', 'a /24 less network, broadcast and gateway');
  // A network takes several subnets of a version; an overlapping one is
  // refused with the API's message.
  await addSubnet('fd00:41::/64');
  await expectNotice('notice', /^Subnet fd00:41::\/64 was added to network app-net\.$/);
  await eventually(async () => assert.deepEqual(await subnets('app-net'), ['10.40.0.0/24', 'fd00:40::/64', 'fd00:41::/64']));
  await addSubnet('10.40.0.128/25');
  const refused = await expectNotice('notice', /overlaps/);
  const appNet = (await callFromPage('GET', `/v1/projects/${demo.id}/networks?name=app-net`)).body.items[0];
  assert.equal(refused, `Invalid input for operation: Requested subnet with cidr: 10.40.0.128/25 for network: ${appNet.id} overlaps with another subnet.`);
  assert.equal(await byTestId('notice').getAttribute('class'), 'notice error');
  await shotAtWidths('networks-subnets');
  await checkA11y('networks-subnets');

  await row('app-net').locator('[data-testid="subnet-line"][data-subnet="fd00:40::/64"] [data-testid="delete-subnet"]').click();
  await confirm(/^Delete subnet fd00:40::\/64 of network app-net\?/);
  await expectNotice('notice', /^Subnet fd00:40::\/64 was deleted\.$/);
  await eventually(async () => assert.deepEqual(await subnets('app-net'), ['10.40.0.0/24', 'fd00:41::/64']));

  // A subnet with addresses in use, and a network with interfaces, stay.
  await row('db-net').locator('[data-testid="delete-subnet"]').first().click();
  await confirm(/^Delete subnet 10\.20\.0\.0\/24 of network db-net\?/);
  assert.match(await expectNotice('notice', /allocated/), /^Subnet \S+ still has \d+ allocated IP addresses\.$/);
  await row('db-net').locator('[data-testid="delete-network"]').click();
  await confirm(/^Delete network db-net and its subnets\?/);
  assert.match(await expectNotice('notice', /interfaces/), /^Network db-net still has \d+ network interfaces\.$/);
  assert.deepEqual(await subnets('db-net'), ['10.20.0.0/24']);

  // The Default Network offers no delete.
  assert.equal(await row('Default Network').locator('[data-testid="delete-network"]').count(), 0);
  await row('app-net').locator('[data-testid="delete-network"]').click();
  await confirm(/^Delete network app-net and its subnets\?/);
  await expectNotice('notice', /^Network app-net was deleted\.$/);
  await eventually(async () => assert.equal(await row('app-net').count(), 0));
  const gone = await callFromPage('GET', `/v1/projects/${demo.id}/networks?name=app-net`);
  assert.deepEqual(gone.body.items, []);
  await assertNoReload();
});

test('a reader sees the VMs and networks but no edit controls', async () => {
  await logout();
  await login('carol');
  assert.equal(await byTestId('role-badge').innerText(), 'Tenant Reader');
  await eventually(async () => assert.ok(await page.locator('[data-testid="vm-row"]').count() >= 3));
  assert.equal(await byTestId('vm-create-form').isVisible(), false);
  for (const id of ['vm-start', 'vm-stop', 'vm-delete']) {
    assert.equal(await page.locator(`[data-testid="${id}"]`).count(), 0, `${id} is offered to a reader`);
  }
  await openVm('web-1');
  await eventually(async () => assert.equal(await detailRows().count(), 4));
  assert.equal(await page.locator('#edit-vm-button').count(), 0);
  assert.equal(await page.locator('#vm-actions button').count(), 0);
  assert.equal(await page.locator('#vm-interfaces-body [data-testid="primary-marker"]').count(), 1);
  await shot('reader-vm-detail.png');
  await checkA11y('reader-vm-detail');

  // The API, not the page, is what forbids: a write from the reader's session is refused.
  const vmId = await page.evaluate(() => location.hash.split('/').pop());
  const refused = await callFromPage('POST', `/v1/projects/${demo.id}/vms/${vmId}/stop`);
  assert.equal(refused.status, 403);
  assert.match(refused.body.error.message, /Reader role is read-only/);

  await page.locator('#nav-networks').click();
  await byTestId('networks-view').waitFor({ state: 'visible' });
  await page.locator('[data-testid="network-row"]').first().waitFor();
  assert.equal(await byTestId('network-create-form').isVisible(), false);
  assert.equal(await byTestId('subnet-create-form').isVisible(), false);
  for (const id of ['delete-subnet', 'delete-network']) {
    assert.equal(await page.locator(`[data-testid="${id}"]`).count(), 0, `${id} is offered to a reader`);
  }
  await checkA11y('reader-networks');
});

test('a power user adds supplementary interfaces but manages no subnets or networks', async () => {
  await logout();
  await login('bob');
  assert.equal(await byTestId('role-badge').innerText(), 'Tenant Power User');
  await page.locator('#nav-networks').click();
  await byTestId('networks-view').waitFor({ state: 'visible' });
  await page.locator('[data-testid="network-row"]').first().waitFor();
  assert.equal(await byTestId('network-create-form').isVisible(), false);
  assert.equal(await byTestId('subnet-create-form').isVisible(), false);
  for (const id of ['delete-subnet', 'delete-network']) {
    assert.equal(await page.locator(`[data-testid="${id}"]`).count(), 0, `${id} is offered to a power user`);
  }
  await openVm('db-1');
  await openEdit();
  assert.equal(await page.locator('#add-supplementary-button').isVisible(), true);
  assert.equal(await dialog().locator('[data-testid="delete-supplementary"]').count(), 1);
  await closeEdit();
  // The API agrees: a power user's network delete is refused.
  const refused = await callFromPage('DELETE', `/v1/projects/${demo.id}/networks/00000000-0000-4000-8000-000000000000`);
  assert.equal(refused.status, 403);
  assert.equal(refused.body.error.message, 'The Tenant Power User role cannot do this; it needs the Tenant Administrator role.');
});

test('every console page and dialog passed the accessibility check', async () => {
  // The check is not blind: an image without a text alternative fails it.
  await page.evaluate(() => {
    const img = document.createElement('img');
    img.id = 'a11y-probe';
    img.src = 'data:image/gif;base64,R0lGODlhAQABAAAAACw=';
    document.querySelector('main').append(img);
  });
  await assert.rejects(checkA11y('probe'), /image-alt/);
  await page.evaluate(() => document.getElementById('a11y-probe').remove());
  assert.deepEqual([...a11yChecked].sort(), [
    'activity', 'confirm-dialog', 'edit-vm-dialog', 'login', 'networks', 'networks-subnets',
    'reader-networks', 'reader-vm-detail', 'vm-detail', 'vm-list',
  ]);
});

test('the console fetched nothing from outside nicplane and raised no script error', () => {
  assert.deepEqual(externalRequests, []);
  assert.deepEqual(pageErrors, []);
});
