// The marketer's console in the browser (issue 17's "done when"), run by run.mjs after the
// recipient steps, over the same data file: the gateway is started again on it (the CLI and the
// gateway cannot open the file at the same time), with console users added by the CLI first.
//
// 1. Admin: sign in, campaigns, the dashboard's numbers equal `mcamp report` (after a click
//    and a claim of the test's own), the report workbook (read back with calamine) and the
//    people CSV (masked) downloaded through the dashboard's links.
// 2. Viewer: the same numbers, no admin forms, a post with their own CSRF token is 403.
// 3. Store staff: look a code up (typed in lower case with a space), redeem it; another
//    store's staff then see it was used, where and when.
// 4. A read-only link: numbers without names; revoked, it says so (410).
// 5. Signed out: the sign-in page, never data.
// Screenshots (phone 390x844, desktop 1280x900) go to tests/browser/out/console-*.png.

import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import assert from 'node:assert/strict';
import { startGateway, aggregated } from './gateway.mjs';

const PASSWORD = 'spring-console-pass-2026';
const KAKAOTALK_IOS = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 KAKAOTALK 10.4.5';
const PHONE = { viewport: { width: 390, height: 844 }, locale: 'ko-KR' };
const DESKTOP = { viewport: { width: 1280, height: 900 }, locale: 'ko-KR' };
const NAMES = ['김민지', '박서연', '이준호'];
const MASKED_NAMES = ['김*지', '박*연', '이*호'];
const CAMPAIGN = 'spring-demo';

/// `campaigns`: the demo links run.mjs's gateway printed (the short codes stay in the data file);
/// `cli`: [command, leading args] of the mcamp CLI; `watched`: run.mjs's CSP and header findings.
export async function consoleSteps({ browser, port, dataFile, out, step, cli, root, campaigns, watched }) {
  const base = `http://127.0.0.1:${port}`;
  const dash = `${base}/console/campaigns/${CAMPAIGN}`;
  const mcamp = (args, input) => spawnSync(cli[0], [...cli[1], '--data', dataFile, ...args],
    { cwd: root, encoding: 'utf8', input, maxBuffer: 64 * 1024 * 1024 });
  const shot = (page, name) => page.screenshot({ path: join(out, `console-${name}.png`), fullPage: true });
  let gateway = null;
  const start = async () => { gateway = await startGateway({ port, dataFile, demos: [], ready: () => true }); };
  const stop = async () => {
    if (!gateway) return;
    const exited = new Promise((r) => gateway.child.once('exit', r));
    gateway.child.kill('SIGTERM');
    await exited;
    gateway = null;
  };
  // The report as the CLI reads it: only with the gateway stopped (one process opens the file).
  const report = async () => {
    await stop();
    try {
      const r = mcamp(['--json', 'report', CAMPAIGN]);
      assert.equal(r.status, 0, `mcamp report: ${r.stderr}`);
      return JSON.parse(r.stdout);
    } finally { await start(); }
  };
  const caughtUp = () => aggregated(dataFile);
  const signIn = async (ctx, email, lands) => {
    const page = await ctx.newPage();
    await page.goto(`${base}/console`);
    assert.match(page.url(), /\/console\/sign-in$/, 'signed out, /console shows the sign-in page');
    await page.fill('#email', email);
    await page.fill('#password', PASSWORD);
    await Promise.all([page.waitForURL(lands), page.click('button[type=submit]')]);
    return page;
  };
  // What the dashboard shows, from its data attributes.
  const shown = (page) => page.evaluate(() => ({
    metrics: Object.fromEntries([...document.querySelectorAll('[data-metric]')].map((e) => [e.dataset.metric, Number(e.dataset.n)])),
    funnel: Object.fromEntries([...document.querySelectorAll('tr[data-stage]')].map((e) => [e.dataset.stage, Number(e.dataset.n)])),
    coupons: Object.fromEntries([...document.querySelectorAll('tr[data-coupon]')].map((e) => [e.dataset.coupon, [Number(e.dataset.issued), Number(e.dataset.redeemed)]])),
  }));
  const expected = (r) => {
    const stage = (s) => (r.funnel.find((f) => f.stage === s) || { people: 0 }).people;
    return {
      metrics: {
        'people.sent': stage('sent'), unique_clicks: r.unique_clicks, clicks: r.clicks, previews: r.previews,
        page_views: r.page_views, forms: r.forms, opt_outs: r.opt_outs,
        issued: r.coupons.reduce((n, c) => n + c.issued, 0), redeemed: r.coupons.reduce((n, c) => n + c.redeemed, 0),
      },
      funnel: Object.fromEntries(r.funnel.map((f) => [f.stage, f.people])),
      coupons: Object.fromEntries(r.coupons.map((c) => [c.coupon, [c.issued, c.redeemed]])),
    };
  };
  const sameAsReport = (got, r, what) => {
    const want = expected(r);
    for (const [k, v] of Object.entries(want.metrics)) assert.equal(got.metrics[k], v, `${what}: data-metric ${k}`);
    assert.deepEqual(got.funnel, want.funnel, `${what}: funnel rows`);
    assert.deepEqual(got.coupons, want.coupons, `${what}: coupon rows`);
  };
  const noNames = (text, what) => {
    for (const n of [...NAMES, ...MASKED_NAMES]) assert.ok(!text.includes(n), `${what}: '${n}' must not appear`);
  };
  const weights = {};
  const weigh = (label, body) => {
    const gz = gzipSync(body).length;
    weights[label] = gz;
    console.log(`  page weight: ${label} ${body.length} bytes raw, ${gz} bytes gzip`);
  };

  let admin = null, adminPage = null, reportNow = null, couponCode = null, dashboardSeen = null;
  try {
    await step('console: users added with the CLI (admin, viewer, two stores\' staff)', async () => {
      for (const [email, role] of [['admin@brand.kr', 'admin'], ['viewer@agency.kr', 'viewer'],
        ['staff@gangnam.kr', 'store:gangnam-01'], ['staff@hongdae.kr', 'store:hongdae-02']]) {
        const r = mcamp(['users', 'add', email, '--role', role], `${PASSWORD}\n`);
        assert.equal(r.status, 0, `mcamp users add ${email}: ${r.stderr}`);
      }
      await start();
    });
    assert.ok(gateway, 'the gateway runs again over the data file');

    await step('console, admin: sign in, campaigns, dashboard equals mcamp report after a click and a claim of our own', async () => {
      // The test's own click and claim: 이준호 (the recipient whose link was forwarded earlier,
      // who never filled the form himself) opens his link, fills it and claims his coupon.
      const junho = campaigns[CAMPAIGN]['이준호'];
      const own = await browser.newContext({ ...PHONE, userAgent: KAKAOTALK_IOS });
      const p = await own.newPage();
      await p.goto(junho);
      await p.fill('#f-name', '이준호');
      await p.fill('#f-phone', '010-2345-6789');
      await p.check('input[name=privacy]');
      await Promise.all([p.waitForURL(/m=saved/, { waitUntil: 'load' }), p.click('button:has-text("입력 완료")')]);
      await p.click('button:has-text("쿠폰 받기")');
      await p.waitForSelector('.code', { timeout: 20_000 });
      couponCode = (await p.textContent('.code')).trim();
      assert.match(couponCode, /^[0-9A-Z]{12}$/);
      await own.close();

      admin = await browser.newContext(DESKTOP);
      const page = await admin.newPage();
      await page.goto(`${base}/console`);
      assert.match(page.url(), /\/console\/sign-in$/);
      await shot(page, 'sign-in-desktop');
      await page.setViewportSize(PHONE.viewport);
      await shot(page, 'sign-in-phone');
      await page.setViewportSize(DESKTOP.viewport);
      // A wrong password first: the same page with a Korean message, no session.
      await page.fill('#email', 'admin@brand.kr');
      await page.fill('#password', 'not-the-password-1');
      await page.click('button[type=submit]');
      await page.waitForSelector('.err');
      assert.match(await page.textContent('.err'), /맞지 않아요/);
      assert.equal(await page.inputValue('#email'), 'admin@brand.kr', 'the e-mail is kept');
      await page.fill('#password', PASSWORD);
      await Promise.all([page.waitForURL(/\/console\/campaigns$/), page.click('button[type=submit]')]);
      const cookies = await admin.cookies();
      const c = cookies.find((k) => k.name === '__Host-mcamp_console');
      assert.ok(c && c.httpOnly && c.secure && c.sameSite === 'Strict', `session cookie: ${JSON.stringify(c)}`);
      assert.ok(await page.getByText(CAMPAIGN).count() >= 1, 'the campaign is listed');
      await shot(page, 'campaigns-desktop');
      await page.setViewportSize(PHONE.viewport);
      await shot(page, 'campaigns-phone');
      await page.setViewportSize(DESKTOP.viewport);

      await caughtUp();
      // The list names the campaign; where it links to the dashboard, the link is followed.
      const link = page.locator(`a[href="/console/campaigns/${CAMPAIGN}"]`);
      if (await link.count()) await Promise.all([page.waitForURL(dash), link.first().click()]);
      else { console.log('  note: the campaigns list has no link to the dashboard; opened by its URL'); await page.goto(dash); }
      dashboardSeen = await shown(page);
      weigh('dashboard HTML (admin)', Buffer.from(await (await page.request.get(dash)).body()));
      await shot(page, 'dashboard-desktop');
      await page.setViewportSize(PHONE.viewport);
      await shot(page, 'dashboard-phone');
      await page.setViewportSize(DESKTOP.viewport);
      assert.equal((await page.textContent('h1 .st')).trim(), '진행 중');

      // The report workbook and the people CSV, through the dashboard's links.
      const download = async (selector, name) => {
        const [d] = await Promise.all([page.waitForEvent('download'), page.click(selector)]);
        const path = join(out, name);
        await d.saveAs(path);
        return { path, suggested: d.suggestedFilename() };
      };
      const xlsx = await download('a[href*="export?what=report&format=xlsx"]', 'console-report.xlsx');
      assert.match(xlsx.suggested, /^spring-demo-report-\d{8}-\d{4}\.xlsx$/);
      const csv = await download('a[href*="export?what=people&format=csv"]', 'console-people.csv');
      const people = readFileSync(csv.path, 'utf8');
      assert.ok(people.includes('010-****-'), `phones masked in the people CSV:\n${people}`);
      assert.ok(!/010-?\d{4}-?\d{4}/.test(people), 'no whole phone number in the people CSV');
      for (const n of NAMES) assert.ok(!people.includes(n), `no full name '${n}' in the people CSV`);
      adminPage = page;

      // The CLI's report at the same moment (nothing happened since the aggregator caught up).
      reportNow = await report();
      sameAsReport(dashboardSeen, reportNow, 'dashboard');
      const clicked = reportNow.funnel.find((f) => f.stage === 'clicked').people;
      assert.ok(clicked >= 3 && reportNow.clicks >= 4, `the browsers' clicks are counted: ${JSON.stringify(reportNow.funnel)}`);
      const bin = process.env.MCAMP_XLSX_CELLS_BIN;
      const cells = bin ? spawnSync(bin, [xlsx.path], { encoding: 'utf8' })
        : spawnSync('cargo', ['run', '-q', '-p', 'mcamp-tests', '--bin', 'xlsx_cells', '--', xlsx.path], { cwd: root, encoding: 'utf8' });
      assert.equal(cells.status, 0, `xlsx_cells: ${cells.stderr}`);
      const sheets = JSON.parse(cells.stdout);
      assert.ok(sheets['퍼널'], `sheets: ${Object.keys(sheets).join(', ')}`);
      const row = sheets['퍼널'].find((r) => r[0] === '클릭');
      assert.ok(row, `a 클릭 row in 퍼널: ${JSON.stringify(sheets['퍼널'])}`);
      assert.equal(Number(row[1]), clicked, 'the workbook\'s clicked people');
      const summary = sheets['요약'].find((r) => r[0] === '클릭');
      assert.equal(Number(summary[1]), reportNow.clicks, 'the workbook\'s clicks');
    });

    await step('console, admin: people (masked) and one person', async () => {
      const page = await admin.newPage();
      await page.goto(`${dash}/people`);
      const text = await page.textContent('body');
      for (const n of NAMES) assert.ok(!text.includes(n), `people list shows no full name '${n}'`);
      assert.ok(text.includes('010-****-'), 'masked phones');
      await shot(page, 'people-desktop');
      await page.setViewportSize(PHONE.viewport);
      await shot(page, 'people-phone');
      await page.setViewportSize(DESKTOP.viewport);
      await Promise.all([page.waitForURL(/\/people\/\w+/), page.click('td a[href*="/people/"] >> nth=0')]);
      assert.ok(await page.locator('ol.timeline li, p.muted').count() >= 1);
      const h1 = await page.textContent('h1');
      for (const n of NAMES) assert.ok(!h1.includes(n), `a person's heading shows no full name: ${h1}`);
      assert.match(h1, /\S\*|이름 없음/, `the masked name: ${h1}`);
      await shot(page, 'person-desktop');
      await page.setViewportSize(PHONE.viewport);
      await shot(page, 'person-phone');
      await page.close();
    });

    await step('console, viewer: the same numbers, no admin forms, a status post is 403', async () => {
      const ctx = await browser.newContext(PHONE);
      const page = await signIn(ctx, 'viewer@agency.kr', /\/console\/campaigns$/);
      await page.goto(dash);
      sameAsReport(await shown(page), reportNow, 'viewer\'s dashboard');
      assert.equal(await page.locator('form[action$="/status"]').count(), 0, 'no status form');
      assert.equal(await page.locator('form[action*="/view-links"], a[href*="/export"], form[action$="/recipients"]').count(), 0, 'no admin actions');
      const csrf = await page.getAttribute('input[name=csrf]', 'value');
      assert.ok(csrf, 'the sign-out form carries the session token');
      const post = await page.request.post(`${dash}/status`, {
        form: { csrf, status: 'paused' }, headers: { Origin: base }, maxRedirects: 0 });
      assert.equal(post.status(), 403, 'a viewer may not pause');
      const exp = await page.request.get(`${dash}/export?what=people&format=csv`, { maxRedirects: 0 });
      assert.equal(exp.status(), 403, 'a viewer may not export');
      await page.reload();
      assert.equal((await page.textContent('h1 .st')).trim(), '진행 중', 'the campaign is still active');
      await ctx.close();
    });

    await step('console, store staff: look up a code typed loosely, redeem it; the other store sees it used', async () => {
      assert.ok(couponCode, 'the code claimed in the admin step');
      const typed = `${couponCode.slice(0, 6).toLowerCase()} ${couponCode.slice(6).toLowerCase()}`;
      const ctx = await browser.newContext({ ...PHONE, userAgent: KAKAOTALK_IOS });
      const page = await signIn(ctx, 'staff@gangnam.kr', /\/console\/stores\/gangnam-01$/);
      weigh('staff page HTML', Buffer.from(await (await page.request.get(`${base}/console/stores/gangnam-01`)).body()));
      assert.ok(await page.getByText('봄꽃커피 강남점').first().isVisible());
      // Staff reach no campaign, and no other store.
      assert.equal((await page.request.get(dash, { maxRedirects: 0 })).status(), 403);
      assert.equal((await page.request.get(`${base}/console/stores/hongdae-02`, { maxRedirects: 0 })).status(), 403);
      await page.fill('#code', typed);
      await Promise.all([page.waitForURL(/\/lookup$/), page.click('form#look button[type=submit]')]);
      const out1 = await page.textContent('section.out');
      assert.match(out1, /사용 가능/, out1);
      assert.ok(out1.includes(couponCode), 'the code, normalised');
      noNames(out1, 'the lookup');
      await shot(page, 'store-lookup-phone');
      await Promise.all([page.waitForURL(/\/redeem$/), page.click('button:has-text("사용 처리")')]);
      const out2 = await page.textContent('section.out');
      assert.match(out2, /사용 처리 완료/, out2);
      await shot(page, 'store-redeemed-phone');
      await ctx.close();

      const other = await browser.newContext({ ...PHONE, userAgent: KAKAOTALK_IOS });
      const hp = await signIn(other, 'staff@hongdae.kr', /\/console\/stores\/hongdae-02$/);
      await hp.fill('#code', couponCode);
      await Promise.all([hp.waitForURL(/\/lookup$/), hp.click('form#look button[type=submit]')]);
      const out3 = await hp.textContent('section.out');
      assert.match(out3, /이미 사용된 쿠폰이에요/, out3);
      assert.match(out3, /\d{4}년 \d{1,2}월 \d{1,2}일 \d{2}:\d{2} 봄꽃커피 강남점에서 사용/, out3);
      assert.equal(await hp.locator('button:has-text("사용 처리")').count(), 0, 'no redeem button');
      await shot(hp, 'store-already-used-phone');
      // Posting the redemption anyway is refused (409) and says the same.
      const csrf = await hp.getAttribute('form#look input[name=csrf]', 'value');
      const again = await hp.request.post(`${base}/console/stores/hongdae-02/redeem`, {
        form: { csrf, code: couponCode }, headers: { Origin: base }, maxRedirects: 0 });
      assert.equal(again.status(), 409);
      assert.match(await again.text(), /이미 사용된 쿠폰이에요/);
      await other.close();
    });

    await step('console, read-only link: numbers without names; revoked, it says so (410)', async () => {
      await caughtUp();
      const page = adminPage;
      await page.goto(dash);
      const now = await shown(page);
      assert.equal(now.metrics.redeemed, dashboardSeen.metrics.redeemed + 1, 'the staff\'s redemption is counted');
      await Promise.all([page.waitForURL(/\/view-links$/), page.click('button:has-text("링크 만들기")')]);
      const url = await page.inputValue('#view-link');
      assert.match(url, new RegExp(`^${base}/console/view/\\w+$`), url);
      await shot(page, 'view-link-made-desktop');

      const ctx = await browser.newContext(PHONE);
      const view = await ctx.newPage();
      const resp = await view.goto(url);
      assert.equal(resp.status(), 200);
      assert.equal(resp.headers()['referrer-policy'], 'no-referrer');
      const seen = await shown(view);
      assert.equal(seen.metrics.unique_clicks, reportNow.unique_clicks, 'unique clicks as the report');
      assert.equal(seen.metrics.redeemed, now.metrics.redeemed);
      noNames(await view.textContent('body'), 'the read-only link');
      noNames(await view.content(), 'the read-only link\'s HTML');
      assert.equal(await view.locator('a[href*="/people"], form, input[name=csrf]').count(), 0, 'no people links, no forms');
      await shot(view, 'view-link-phone');
      await view.setViewportSize(DESKTOP.viewport);
      await shot(view, 'view-link-desktop');

      await page.goto(dash);
      const revoke = page.locator('form[action$="/view-links/revoke"] button');
      assert.equal(await revoke.count(), 1, 'one open link listed');
      await Promise.all([page.waitForURL(dash), revoke.click()]);
      assert.equal(await page.locator('form[action$="/view-links/revoke"]').count(), 0, 'no open link left');
      const gone = await view.goto(url);
      assert.equal(gone.status(), 410);
      assert.match(await view.textContent('body'), /취소/);
      assert.equal(await view.locator('[data-metric]').count(), 0);
      await view.setViewportSize(PHONE.viewport);
      await shot(view, 'view-link-revoked-phone');
      await ctx.close();
    });

    await step('console, signed out: the sign-in page and never data', async () => {
      const ctx = await browser.newContext(PHONE);
      const page = await ctx.newPage();
      for (const path of [`/console/campaigns/${CAMPAIGN}`, `/console/campaigns/${CAMPAIGN}/people`,
        `/console/campaigns/${CAMPAIGN}/export?what=report&format=xlsx`, '/console/stores/gangnam-01', '/console/campaigns']) {
        await page.goto(base + path);
        assert.match(page.url(), /\/console\/sign-in$/, `${path} ends on the sign-in page`);
        assert.equal(await page.locator('[data-metric]').count(), 0, `${path}: no numbers`);
      }
      // Without a cookie, or with a forged one: a redirect to the sign-in page, no body of data.
      for (const cookie of [undefined, '__Host-mcamp_console=forged']) {
        for (const path of [`/console/campaigns/${CAMPAIGN}`, `/console/campaigns/${CAMPAIGN}/export?what=people&format=csv`,
          `/console/campaigns/${CAMPAIGN}/people`]) {
          const r = await fetch(base + path, { redirect: 'manual', headers: cookie ? { cookie } : {} });
          assert.equal(r.status, 303, `${path} (${cookie ? 'forged' : 'no'} cookie)`);
          assert.equal(r.headers.get('location'), '/console/sign-in');
          const body = await r.text();
          assert.ok(!body.includes('data-metric') && !body.includes('010-'), `${path}: no data`);
        }
      }
      // A post without a session changes nothing.
      const post = await fetch(`${dash}/status`, { method: 'POST', redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin: base }, body: 'csrf=x&status=paused' });
      assert.ok([303, 403].includes(post.status), `status post without a session: ${post.status}`);
      const st = await adminPage.goto(dash);
      assert.equal(st.status(), 200);
      assert.equal((await adminPage.textContent('h1 .st')).trim(), '진행 중');
      await ctx.close();
    });

    await step('console: page weights, headers and CSP on every console page', async () => {
      console.log(`  page weights (gzip): dashboard ${weights['dashboard HTML (admin)']} bytes, staff page ${weights['staff page HTML']} bytes`);
      assert.deepEqual(watched.missingHeaders, [], 'responses without the security headers');
      assert.deepEqual(watched.cspViolations, [], 'CSP violations reported by Chromium');
    });
  } finally {
    if (admin) await admin.close().catch(() => {});
    await stop();
  }
}
