// Real-browser end-to-end test: headless Debian Chromium (playwright-core) against the local
// gateway on the embedded store, seeded with examples/demo.
//
// 1. With JavaScript on, as KakaoTalk's in-app browser: a demo recipient opens their link,
//    fills the info form with marketing consent OFF, claims the coupon, sees the code.
// 2. With JavaScript off: another recipient does the same through plain form posts.
// Then the stored state (the gateway's data file) is checked: events, consent ledger, coupons.
// Screenshots go to tests/browser/out/.

import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';
import { root, freePort, startGateway, aggregated } from './gateway.mjs';
import { consoleSteps } from './console.mjs';

const out = join(root, 'tests', 'browser', 'out');
mkdirSync(out, { recursive: true });
const KAKAOTALK_IOS = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 KAKAOTALK 10.4.5';
const SAMSUNG = 'Mozilla/5.0 (Linux; Android 14; SM-S921N) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/24.0 Chrome/117.0.0.0 Mobile Safari/537.36';

let passed = 0, failed = 0;
async function step(name, fn) {
  try { await fn(); passed++; console.log(`ok - ${name}`); }
  catch (e) { failed++; console.log(`not ok - ${name}\n  ${String(e && e.stack || e).split('\n').join('\n  ')}`); }
}

// The embedded store's database, read beside the running gateway (WAL lets a reader in): the
// items of each table. Node 20 has no SQLite, Python's standard library has.
function storedItems(dataFile) {
  const read = `
import json, sqlite3, sys
c = sqlite3.connect("file:" + sys.argv[1] + "?mode=ro", uri=True)
out = {"main": [], "events": []}
for tbl, item in c.execute("SELECT tbl, item FROM items"):
    out["main" if tbl == 0 else "events"].append(json.loads(item))
print(json.dumps(out))
`;
  const r = spawnSync('python3', ['-c', read, dataFile], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`reading ${dataFile}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

const dataDir = mkdtempSync(join(tmpdir(), 'mcamp-browser-'));
const dataFile = join(dataDir, 'mcamp.db');
const port = await freePort();
const { child, campaigns, stores } = await startGateway({
  port, dataFile, demos: ['demo', 'survey', 'mcs', join(root, 'tests', 'browser', 'xss')],
  ready: (f) => Object.keys(f.campaigns['spring-demo'] || {}).length >= 3
    && Object.keys(f.campaigns['xss-test'] || {}).length >= 1
    && Object.keys(f.campaigns['spring-survey'] || {}).length >= 3 && Object.keys(f.stores).length >= 3,
});
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-quic', '--disable-sync'],
});

// Every page any step opens is watched: each HTML response of the gateway must carry the CSP and
// its companions, and the browser must report no CSP violation (the pages' own scripts are
// allowed by their hashes; anything else would be refused and logged).
const cspViolations = [], missingHeaders = [];
let htmlPages = 0;
const openContext = browser.newContext.bind(browser);
browser.newContext = async (opts) => {
  const ctx = await openContext(opts);
  ctx.on('page', (p) => {
    p.on('console', (m) => { if (/Content Security Policy|Refused to (execute|load|apply)/.test(m.text())) cspViolations.push(`${p.url()}: ${m.text()}`); });
    p.on('response', (r) => {
      const h = r.headers();
      if (!r.url().startsWith(`http://127.0.0.1:${port}/`) || !(h['content-type'] || '').startsWith('text/html')) return;
      htmlPages++;
      const csp = h['content-security-policy'] || '';
      if (!csp.includes("default-src 'none'") || !csp.includes("frame-ancestors 'none'") || h['x-content-type-options'] !== 'nosniff' || !h['referrer-policy']) {
        missingHeaders.push(`${r.status()} ${r.url()}`);
      }
    });
  });
  return ctx;
};

try {
  const byName = campaigns['spring-demo'];
  const seoyeon = byName['박서연'], minji = byName['김민지'];
  assert.ok(seoyeon && minji, `demo links printed: ${JSON.stringify(campaigns)}`);

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

  const survey = campaigns['spring-survey'];
  const legends = async (page) => (await page.locator('legend').count()) ? (await page.textContent('legend')).trim() : '';
  // With the script on, a tap posts in the background and swaps the page in place.
  const swapped = (page) => page.waitForResponse((r) => r.request().method() === 'POST' && r.url().includes('/s/'));

  await step('survey, JS on, KakaoTalk: demographics, a branch skips two questions, bad input, reward coupon', async () => {
    const ctx = await browser.newContext({ viewport: { width: 390, height: 844 }, userAgent: KAKAOTALK_IOS, locale: 'ko-KR' });
    const page = await ctx.newPage();
    await page.goto(survey['박서연']);
    assert.match(page.url(), /\/s\/\w+$/, 'a survey link opens the survey');
    await page.screenshot({ path: join(out, 'survey-intro.png'), fullPage: true });
    await Promise.all([page.waitForURL(/start=1/), page.click('text=시작하기')]);
    // 박서연 has no gender or birth year on record: asked first.
    await page.selectOption('#d-g', 'female');
    await page.selectOption('#d-a', '20s');
    await Promise.all([swapped(page), page.click('button:has-text("다음")')]);
    const seen = [];
    await page.waitForSelector('legend');
    seen.push(await legends(page));
    await Promise.all([swapped(page), page.click('text=아직이요')]);
    await page.waitForSelector('text=4 / 7');
    seen.push(await legends(page));
    await page.screenshot({ path: join(out, 'survey-picture.png'), fullPage: true });
    await Promise.all([swapped(page), page.click('text=딸기 라떼')]);
    await page.waitForSelector('text=5 / 7');
    seen.push(await legends(page));
    for (const t of ['출근길 아침', '점심시간', '주말']) await page.click(`text=${t}`);
    await Promise.all([swapped(page), page.click('button:has-text("다음")')]);
    await page.waitForSelector('text=최대 2개까지 고를 수 있어요.');
    await page.click('text=주말');
    await Promise.all([swapped(page), page.click('button:has-text("다음")')]);
    await page.waitForSelector('text=6 / 7');
    seen.push(await legends(page));
    await page.screenshot({ path: join(out, 'survey-nps.png'), fullPage: true });
    await Promise.all([swapped(page), page.click('.nps label:has-text("10")')]);
    await page.waitForSelector('textarea');
    seen.push(await legends(page));
    // Free text with a payload: stored as typed; the CSP watcher below fails the run if it ever
    // runs on a page (the HTML report lists no free text; the CSV export carries it as data).
    await page.fill('textarea', '벚꽃 시즌이 기다려져요 <img src=x onerror="window.__xss=1">');
    await Promise.all([swapped(page), page.click('button:has-text("제출")')]);
    assert.ok(!seen.some((l) => l.includes('맛은') || l.includes('단맛')), `taste questions skipped: ${seen.join(' / ')}`);
    await page.waitForSelector('.code', { timeout: 30_000 });
    assert.ok(await page.getByText('소중한 의견 감사합니다').isVisible());
    assert.match((await page.textContent('.code')).trim(), /^[0-9A-Z]{12}$/);
    await page.screenshot({ path: join(out, 'survey-thanks.png'), fullPage: true });
    // Opening the link again says it is done.
    await page.goto(survey['박서연']);
    assert.ok(await page.getByText('이미 참여하셨어요').isVisible(), 'one response per recipient');
    await ctx.close();
  });

  await step('survey, JS off, Samsung Internet: answered by form posts, reward coupon', async () => {
    const ctx = await browser.newContext({ viewport: { width: 412, height: 915 }, userAgent: SAMSUNG, javaScriptEnabled: false });
    const page = await ctx.newPage();
    await page.goto(survey['이준호']);
    await Promise.all([page.waitForURL(/start=1/), page.click('text=시작하기')]);
    // 이준호's gender and birth year came with the import: no demographics screen.
    const answer = async (pick) => {
      if (pick) await page.click(pick);
      await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.click('button[type=submit]:not([name=skip])')]);
    };
    assert.match(await legends(page), /드셔 보셨나요/);
    await answer('text=마셔 봤어요');
    assert.match(await legends(page), /맛은/);
    await answer('.scale label:nth-child(4)');
    await answer('text=딱 좋아요');
    await answer('text=콜드브루');
    await answer('text=오후');
    await answer('.nps label:has-text("7")');
    await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.click('button:has-text("건너뛰기")')]);
    try {
      await page.waitForSelector('.code', { timeout: 30_000 });
    } catch (e) {
      await page.screenshot({ path: join(out, 'survey-nojs-failed.png'), fullPage: true });
      throw new Error(`no reward code at ${page.url()}\n${e}`);
    }
    await page.screenshot({ path: join(out, 'survey-nojs-thanks.png'), fullPage: true });
    await ctx.close();
  });

  await step('MCS: scan the store poster, rate the store, leave the phone, thank-you coupon', async () => {
    const ctx = await browser.newContext({ viewport: { width: 390, height: 844 }, userAgent: SAMSUNG, locale: 'ko-KR' });
    const page = await ctx.newPage();
    await page.goto(stores['gangnam-01']);
    assert.match(page.url(), /\/s\/\w+$/);
    assert.ok(await page.getByText('봄꽃커피 강남점').isVisible(), 'the store is named');
    await Promise.all([page.waitForURL(/start=1/), page.click('text=시작하기')]);
    await page.selectOption('#d-g', 'male');
    await page.selectOption('#d-a', '30s');
    await Promise.all([swapped(page), page.click('button:has-text("다음")')]);
    await page.waitForSelector('.nps');
    await page.screenshot({ path: join(out, 'mcs-nps.png'), fullPage: true });
    await Promise.all([swapped(page), page.click('.nps label:has-text("9")')]);
    // A promoter skips "what was wrong" and goes to "what was best".
    await page.waitForSelector('text=가장 좋았던 점은');
    await Promise.all([swapped(page), page.click('text=분위기')]);
    await page.waitForSelector('.scale');
    await Promise.all([swapped(page), page.click('.scale label:nth-child(5)')]);
    await page.waitForSelector('text=연락처 남기고 쿠폰 받기');
    await page.screenshot({ path: join(out, 'mcs-thanks.png'), fullPage: true });
    await Promise.all([page.waitForURL(/\/p\/\w+/), page.click('text=연락처 남기고 쿠폰 받기')]);
    await page.fill('#f-phone', '010-5555-0909');
    await page.check('input[name=privacy]');
    await Promise.all([page.waitForURL(/m=saved/, { waitUntil: 'load' }), page.click('button:has-text("입력 완료")')]);
    await page.click('button:has-text("쿠폰 받기")');
    await page.waitForSelector('.code', { timeout: 20_000 });
    await page.screenshot({ path: join(out, 'mcs-coupon.png'), fullPage: true });
    await ctx.close();
  });

  await step('a forwarded link: the second browser sees a masked number and cannot change the owner\'s consent', async () => {
    const junho = byName['이준호'];
    assert.ok(junho, 'demo link of 이준호');
    // The owner opens their link; a friend opens the same link in another browser.
    const owner = await browser.newContext({ userAgent: KAKAOTALK_IOS });
    await (await owner.newPage()).goto(junho);
    await owner.close();
    const ctx = await browser.newContext({ viewport: { width: 390, height: 844 }, userAgent: SAMSUNG, locale: 'ko-KR' });
    const page = await ctx.newPage();
    await page.goto(junho);
    const html = await page.content();
    for (const shown of ['010-2345-6789', '01023456789', '2345-6789']) assert.ok(!html.includes(shown), `no full number on the page (${shown})`);
    assert.ok(await page.getByText('010-****-6789').first().isVisible(), 'the masked number is shown');
    assert.ok(await page.getByText('본인이 아니신가요?').isVisible(), 'not-me offered');
    await page.screenshot({ path: join(out, 'mdm-forwarded.png'), fullPage: true });
    // Opting the owner out takes the owner's full number: the friend's own is refused.
    const optout = page.url().replace(/(\/p\/\w+).*$/, '$1/optout');
    await page.goto(optout);
    await page.fill('#o-phone', '010-9999-0001');
    await page.click('button:has-text("수신거부하기")');
    assert.ok(await page.getByText('이 링크에 등록된 번호와 달라요').isVisible(), 'a wrong number changes nothing');
    // The friend fills the form with their own number and no marketing: they become a visitor
    // of their own, and the owner's record is untouched.
    await page.goto(junho);
    await page.fill('#f-name', '친구');
    await page.fill('#f-phone', '010-9999-0001');
    await page.selectOption('#f-gender', 'male');
    await page.check('input[name=privacy]');
    const marketing = page.locator('input[name=marketing]');
    if (await marketing.isChecked()) await marketing.uncheck();
    const before = page.url();
    await Promise.all([page.waitForURL(/m=saved/, { waitUntil: 'load' }), page.click('button:has-text("입력 완료")')]);
    assert.notEqual(page.url().split('?')[0], before.split('?')[0], 'the friend lands on a page of their own');
    await ctx.close();
    await new Promise((r) => setTimeout(r, 300));
    const { main } = storedItems(dataFile);
    const owners = main.filter((i) => i.sk === 'PROFILE' && i.name === '이준호' && i.campaign_id === 'spring-demo');
    assert.equal(owners.length, 1, 'the owner record');
    const c = main.find((i) => i.sk === 'CUSTOMER' && i.key === owners[0].customer);
    assert.ok(c.consents.marketing_sms && c.consents.marketing_kakao && !c.suppressed, 'the owner keeps their marketing consent');
    const friend = main.find((i) => i.sk === 'PROFILE' && i.name === '친구');
    assert.ok(friend && friend.referrer_id === owners[0].id && friend.customer !== owners[0].customer, 'the friend is their own visitor, credited to the owner');
  });

  await step('stored: events, consent ledger without marketing, one coupon each', async () => {
    // The consumer and the log are asynchronous to the page: give them a moment.
    await new Promise((r) => setTimeout(r, 500));
    const { main, events } = storedItems(dataFile);
    // 박서연 is on the survey demo's list too; the database returns rows in key order, not in
    // the order they were written.
    const recipient = main.find((i) => i.sk === 'PROFILE' && i.name === '박서연' && i.campaign_id === 'spring-demo');
    assert.ok(recipient, 'recipient stored');
    // Consent lives on the brand's customer the recipient points at.
    const customer = main.find((i) => i.sk === 'CUSTOMER' && i.key === recipient.customer);
    assert.ok(recipient.form_completed_at && customer, 'recipient and customer stored');
    assert.ok(customer.consents.privacy && !customer.consents.marketing_sms && !customer.consents.marketing_kakao, 'privacy yes, marketing no');
    const ledger = main.filter((i) => i.pk === `CUST#default#${customer.key}` && i.sk.startsWith('CONSENT#'));
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
    // Surveys: two completed responses, and their rewards out of the survey coupon's stock.
    const responses = main.filter((i) => i.sk === 'SURVEY' && i.campaign_id === 'spring-survey');
    assert.equal(responses.filter((r) => r.completed_at).length, 2, 'two completed survey responses');
    assert.equal(main.find((i) => i.sk === 'STOCK#survey-americano').issued, 2);
    assert.equal(main.find((i) => i.sk === 'STOCK#thanks-1000').issued, 1, 'the MCS thank-you coupon');
    const kinds = events.filter((e) => e.campaign_id === 'spring-survey').map((e) => e.type);
    assert.equal(kinds.filter((k) => k === 'survey_completed').length, 2);
  });
  // A campaign file and a visitor full of script payloads (tests/browser/xss): the text shows
  // as text, nothing runs, and the CSP has nothing to refuse because nothing got through.
  await step('XSS: payloads in the campaign file, the recipient name and the form show as text and never run', async () => {
    const link = Object.values(campaigns['xss-test'])[0];
    const ctx = await browser.newContext({ viewport: { width: 390, height: 844 }, userAgent: KAKAOTALK_IOS, locale: 'ko-KR' });
    const page = await ctx.newPage();
    let dialogs = 0;
    page.on('dialog', (d) => { dialogs++; d.dismiss().catch(() => {}); });
    await page.goto(link);
    assert.ok(await page.getByText("<script>window.__xss='body'</script>", { exact: false }).count() >= 1, 'the payload is shown as text');
    await page.fill('#f-name', '"><script>window.__xss="form"</script>');
    await page.fill('#f-phone', '010-4444-0001');
    await page.check('input[name=privacy]');
    await page.click('button:has-text("입력 완료")');
    await page.waitForLoadState('load');
    await page.goto(link);
    await page.screenshot({ path: join(out, 'xss.png'), fullPage: true });
    assert.equal(await page.evaluate(() => window.__xss), undefined, 'no payload ran');
    assert.equal(dialogs, 0, 'no dialog opened');
    await ctx.close();
  });

  await step('headers: every HTML response carries the CSP, nothing was refused', async () => {
    assert.ok(htmlPages >= 20, `HTML responses watched: ${htmlPages}`);
    assert.deepEqual(missingHeaders, [], 'responses without the security headers');
    assert.deepEqual(cspViolations, [], 'CSP violations reported by Chromium');
  });
  // The aggregator follows the change feed every 500 ms: wait until it has taken every event.
  await step('the aggregator has counted every event', () => aggregated(dataFile));
} finally {
  child.kill('SIGTERM');
}
await new Promise((r) => child.once('exit', r));

// The marketer's report of what the browsers answered: the CLI on the same data file, and its
// HTML page looked at in the browser.
await step('survey report: CLI figures and the HTML page', async () => {
  const bin = process.env.MCAMP_CLI_BIN;
  const [cmd, args] = bin ? [bin, []] : ['cargo', ['run', '-q', '-p', 'mcamp-cli', '--']];
  const html = join(out, 'survey-report.html');
  const run = spawn(cmd, [...args, '--data', dataFile, '--json', 'survey', 'report', 'spring-survey', '--html', html], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
  let json = '';
  run.stdout.on('data', (d) => { json += d; });
  const code = await new Promise((r) => run.on('exit', r));
  assert.equal(code, 0, 'mcamp survey report exits 0');
  const report = JSON.parse(json);
  assert.equal(report.completed, 2);
  const nps = report.questions.find((q) => q.id === 'nps').nps;
  // 박서연 gave 10 (promoter), 이준호 7 (passive): NPS +50.
  assert.deepEqual([nps.promoters, nps.passives, nps.detractors, nps.score], [1, 1, 0, 50]);
  const b2 = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu'] });
  try {
    const page = await (await b2.newContext({ viewport: { width: 900, height: 1200 } })).newPage();
    await page.goto(`file://${html}`);
    assert.ok(await page.locator('svg').count() >= 5, 'charts drawn');
    await page.screenshot({ path: join(out, 'survey-report.png'), fullPage: true });
  } finally { await b2.close(); }
});

// The campaign report: the numbers of what the browsers did, from the aggregator's counters,
// against the events the store recorded.
await step('campaign report: mcamp report shows what the browsers did', async () => {
  const bin = process.env.MCAMP_CLI_BIN;
  const [cmd, args] = bin ? [bin, []] : ['cargo', ['run', '-q', '-p', 'mcamp-cli', '--']];
  const mcamp = (extra) => spawnSync(cmd, [...args, '--data', dataFile, ...extra], { cwd: root, encoding: 'utf8' });
  const json = mcamp(['--json', 'report', 'spring-demo']);
  assert.equal(json.status, 0, `mcamp report exits 0: ${json.stderr}`);
  const report = JSON.parse(json.stdout);
  const events = storedItems(dataFile).events.filter((e) => e.campaign_id === 'spring-demo');
  const count = (t, f = () => true) => events.filter((e) => e.type === t && f(e)).length;
  const people = (t) => new Set(events.filter((e) => e.type === t).map((e) => e.recipient_id)).size;
  assert.ok(count('click') > 0 && count('coupon_redeemed') > 0, 'the browsers clicked and a coupon was redeemed');
  assert.equal(report.clicks, count('click'), 'clicks');
  assert.equal(report.unique_clicks, count('click', (e) => e.first), 'unique clicks');
  assert.equal(report.previews, count('preview'), 'previews');
  assert.equal(report.page_views, count('page_view'), 'page views');
  assert.equal(report.forms, count('form_submitted'), 'forms');
  const stage = (s) => report.funnel.find((f) => f.stage === s).people;
  assert.deepEqual(
    ['clicked', 'viewed', 'form', 'claimed', 'issued', 'redeemed'].map(stage),
    ['click', 'page_view', 'form_submitted', 'coupon_claimed', 'coupon_issued', 'coupon_redeemed'].map(people),
    'the funnel counts the people who did each step');
  const latte = report.coupons.find((c) => c.coupon === 'latte-5000');
  assert.deepEqual([latte.claimed, latte.issued, latte.redeemed],
    [count('coupon_claimed'), count('coupon_issued'), count('coupon_redeemed')]);
  assert.equal(report.stores.find((s) => s.store === 'gangnam-01').redeemed, count('coupon_redeemed'));
  // Leaving the page sent how far down it got: the viewers with such a beacon had block 1 on screen.
  const depthPeople = new Set(events.filter((e) => e.type === 'interaction' && e.action === 'page_depth').map((e) => e.recipient_id));
  assert.ok(depthPeople.size > 0, 'pages sent their depth when left');
  assert.equal(report.blocks[0].reached, depthPeople.size, 'the first block was on screen for every visit that sent its depth');
  const kakao = report.in_app.find((a) => a.in_app === 'kakaotalk');
  assert.equal(kakao.clicks, count('click', (e) => e.client.in_app === 'kakaotalk'), 'KakaoTalk in-app clicks');
  // What the marketer reads, kept beside the screenshots, and the workbook.
  const text = mcamp(['report', 'spring-demo', '--xlsx', join(out, 'report.xlsx')]);
  assert.equal(text.status, 0, text.stderr);
  writeFileSync(join(out, 'report.txt'), text.stdout);
  assert.ok(text.stdout.includes('퍼널') && text.stdout.includes('kakaotalk'), text.stdout);
});

// The marketer's console over the same data file (tests/browser/console.mjs).
{
  const bin = process.env.MCAMP_CLI_BIN;
  const cli = bin ? [bin, []] : ['cargo', ['run', '-q', '-p', 'mcamp-cli', '--']];
  try {
    await consoleSteps({ browser, port, dataFile, out, step, cli, root, campaigns, watched: { cspViolations, missingHeaders } });
  } finally { await browser.close(); }
}

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
