// Real-browser end-to-end test: headless Debian Chromium (playwright-core) against the local
// gateway on the embedded store, seeded with examples/demo.
//
// 1. With JavaScript on, as KakaoTalk's in-app browser: a demo recipient opens their link,
//    fills the info form with marketing consent OFF, claims the coupon, sees the code.
// 2. With JavaScript off: another recipient does the same through plain form posts.
// Then the stored state (the gateway's data file) is checked: events, consent ledger, coupons.
// Screenshots go to tests/browser/out/.

import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import net from 'node:net';
import { chromium } from 'playwright-core';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const out = join(root, 'tests', 'browser', 'out');
mkdirSync(out, { recursive: true });
const KAKAOTALK_IOS = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 KAKAOTALK 10.4.5';
const SAMSUNG = 'Mozilla/5.0 (Linux; Android 14; SM-S921N) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/24.0 Chrome/117.0.0.0 Mobile Safari/537.36';

let passed = 0, failed = 0;
async function step(name, fn) {
  try { await fn(); passed++; console.log(`ok - ${name}`); }
  catch (e) { failed++; console.log(`not ok - ${name}\n  ${String(e && e.stack || e).split('\n').join('\n  ')}`); }
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
    s.on('error', reject);
  });
}

// The gateway, built by cargo; its stdout lists the demo links.
async function startGateway(port, dataFile) {
  const bin = process.env.MCAMP_GATEWAY_BIN;
  const [cmd, args] = bin ? [bin, []] : ['cargo', ['run', '-q', '-p', 'mcamp-gateway', '--']];
  const child = spawn(cmd, [...args, '--port', String(port), '--data', dataFile, '--seed', join(root, 'examples', 'demo')],
    { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
  let text = '';
  const links = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('gateway did not print its links in 300 s')), 300_000);
    child.stdout.on('data', (d) => {
      text += d;
      const found = [...text.matchAll(/^\s+(\S+)\s+\S+\s+(http:\/\/127\.0\.0\.1:\d+\/\w+)$/gm)].map((m) => ({ name: m[1], url: m[2] }));
      if (found.length >= 3) { clearTimeout(timer); resolve(found); }
    });
    child.on('exit', (code) => reject(new Error(`gateway exited with ${code}`)));
  });
  return { child, links };
}

// The embedded store's data file, replayed: the final items of each table.
function storedItems(dataFile) {
  const tables = { main: new Map(), events: new Map() };
  for (const line of readFileSync(dataFile, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    let entry; try { entry = JSON.parse(line); } catch { continue; }
    if (entry.put) tables[entry.put.table].set(`${entry.put.item.pk}|${entry.put.item.sk}`, entry.put.item);
    if (entry.delete) tables[entry.delete.table].delete(`${entry.delete.pk}|${entry.delete.sk}`);
  }
  return { main: [...tables.main.values()], events: [...tables.events.values()] };
}

const dataDir = mkdtempSync(join(tmpdir(), 'mcamp-browser-'));
const dataFile = join(dataDir, 'mcamp.jsonl');
const port = await freePort();
const { child, links } = await startGateway(port, dataFile);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-quic', '--disable-sync'],
});

try {
  const byName = Object.fromEntries(links.map((l) => [l.name, l.url]));
  const seoyeon = byName['박서연'], minji = byName['김민지'];
  assert.ok(seoyeon && minji, `demo links printed: ${JSON.stringify(links)}`);

  await step('JS on, KakaoTalk in-app: form with marketing off, claim, coupon shown', async () => {
    const ctx = await browser.newContext({ viewport: { width: 390, height: 844 }, userAgent: KAKAOTALK_IOS, locale: 'ko-KR' });
    const page = await ctx.newPage();
    await page.goto(seoyeon);
    assert.match(page.url(), /\/p\/\w+$/, 'the short link redirected to the page');
    await page.screenshot({ path: join(out, 'mdm-page.png'), fullPage: true });
    assert.ok(await page.getByText('외부 브라우저로 열기').isVisible(), 'in-app escape offered in KakaoTalk');
    assert.ok(await page.getByText('정보를 입력하면 쿠폰을 받을 수 있어요').isVisible(), 'coupon waits for the form');
    await page.fill('#f-name', '박서연');
    await page.fill('#f-phone', '010-3456-7890');
    await page.selectOption('#f-gender', 'female');
    await page.fill('#f-birth', '2001');
    await page.check('input[name=privacy]');
    const marketing = page.locator('input[name=marketing]');
    if (await marketing.isChecked()) await marketing.uncheck();
    await Promise.all([page.waitForURL(/m=saved/, { waitUntil: 'load' }), page.click('button:has-text("입력 완료")')]);
    assert.ok(await page.getByText('정보가 저장되었어요').isVisible());
    await page.click('button:has-text("쿠폰 받기")');
    await page.waitForSelector('.code', { timeout: 20_000 });
    const code = (await page.textContent('.code')).trim();
    assert.match(code, /^[0-9A-Z]{12}$/, `issued code shown: ${code}`);
    assert.ok(await page.locator('.qr svg').isVisible(), 'QR code shown');
    await page.screenshot({ path: join(out, 'mdm-coupon.png'), fullPage: true });
    await ctx.close();
    // The store redeems it with its key (examples/demo/stores.yaml); a second try is a repeat.
    const redeem = () => fetch(`http://127.0.0.1:${port}/api/stores/gangnam-01/redeem`, {
      method: 'POST', headers: { authorization: 'Bearer demo-gangnam-key-0001' }, body: JSON.stringify({ code }) });
    const first = await redeem();
    assert.equal(first.status, 200, 'redeemed with the store key');
    assert.equal((await (await redeem()).json()).repeat, true, 'same store again is idempotent');
    const wrong = await fetch(`http://127.0.0.1:${port}/api/stores/gangnam-01/redeem`, { method: 'POST', headers: { authorization: 'Bearer nope' }, body: JSON.stringify({ code }) });
    assert.equal(wrong.status, 401);
  });

  await step('JS off, Samsung Internet: the same through plain form posts', async () => {
    const ctx = await browser.newContext({ viewport: { width: 412, height: 915 }, userAgent: SAMSUNG, javaScriptEnabled: false });
    const page = await ctx.newPage();
    await page.goto(minji);
    await page.fill('#f-name', '김민지');
    await page.fill('#f-phone', '0101234567');  // one digit short
    await page.check('input[name=privacy]');
    await page.click('button:has-text("입력 완료")');
    assert.ok(await page.getByText('휴대폰 번호를 010-1234-5678 형식으로 입력해 주세요.').isVisible(), 'Korean field error');
    await page.fill('#f-phone', '010-1234-5678');
    await Promise.all([page.waitForURL(/m=saved/, { waitUntil: 'load' }), page.click('button:has-text("입력 완료")')]);
    await Promise.all([page.waitForURL(/m=claimed/, { waitUntil: 'load' }), page.click('button:has-text("쿠폰 받기")')]);
    // Without JS the pending page refreshes itself (meta refresh) until the coupon is decided.
    try {
      await page.waitForSelector('.code', { timeout: 30_000 });
    } catch (e) {
      await page.screenshot({ path: join(out, 'mdm-nojs-failed.png'), fullPage: true });
      throw new Error(`no coupon code at ${page.url()}: ${(await page.textContent('#coupon')) || ''}\n${e}`);
    }
    await page.screenshot({ path: join(out, 'mdm-nojs.png'), fullPage: true });
    await ctx.close();
  });

  await step('stored: events, consent ledger without marketing, one coupon each', async () => {
    // The consumer and the log are asynchronous to the page: give them a moment.
    await new Promise((r) => setTimeout(r, 500));
    const { main, events } = storedItems(dataFile);
    const recipient = main.find((i) => i.sk === 'PROFILE' && i.name === '박서연');
    assert.ok(recipient, 'recipient stored');
    assert.ok(recipient.form_completed_at && recipient.privacy_at && !recipient.marketing_at, 'privacy yes, marketing no');
    const ledger = main.filter((i) => i.pk === `RCPT#${recipient.id}` && i.sk.startsWith('CONSENT#'));
    assert.deepEqual(ledger.map((l) => [l.purpose, l.granted, l.channel, l.wording_version]), [['privacy', true, 'form', '2026-03-v1']]);
    const mine = events.filter((e) => e.recipient_id === recipient.id).map((e) => e.type);
    for (const t of ['click', 'page_view', 'form_submitted', 'consent_changed', 'coupon_claimed', 'coupon_issued', 'coupon_redeemed']) {
      assert.ok(mine.includes(t), `${t} recorded: ${mine.join(',')}`);
    }
    const click = events.find((e) => e.recipient_id === recipient.id && e.type === 'click');
    assert.equal(click.client.in_app, 'kakaotalk');
    const coupons = main.filter((i) => i.sk === 'COUPON' && i.recipient_id === recipient.id);
    assert.equal(coupons.length, 1, 'one coupon issued');
    const stock = main.find((i) => i.sk === 'STOCK#latte-5000');
    assert.equal(stock.issued, 2, 'two coupons out of the stock');
  });
} finally {
  await browser.close();
  child.kill('SIGTERM');
}

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
