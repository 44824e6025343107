// Page weight and Lighthouse of the recipient pages, M-DM and M-Survey (`make bench`).
//
// 1. Starts the local gateway (release build, embedded store in a temp dir, seeded with
//    examples/demo) and reads the demo links it prints, as tests/browser/run.mjs does.
// 2. Opens a demo recipient's short link as KakaoTalk on an iPhone: follows the 302 to
//    /p/{code} and reports the raw and gzip (level 9) bytes of that first HTML response
//    against the 14 KB budget (14,336 bytes gzipped: what fits in TCP's first flight).
// 3. Runs Lighthouse (mobile: its default config, Moto G class device, simulated slow 4G)
//    against /p/{code} in headless Debian Chromium, with Lighthouse's own mobile user agent
//    and with KakaoTalk's, and prints performance and accessibility (targets >= 95), the
//    main metrics, failing audits of a category under target, and any third-party request.
// 4. The console: the gateway is stopped, an admin and a store's staff are added with the CLI
//    (MCAMP_CLI_BIN, or `cargo run --release`), the gateway starts again over the same data;
//    each signs in by posting the form, and the campaign dashboard and the staff's redeem page
//    are weighed and run through Lighthouse (mobile) with the session cookie.
//
// Every figure is printed on one line, `bench: <figure> | <value> | <goal: verdict> | <command>`
// (make bench's summary table). A missed target is flagged MISSED; the exit code is 0 unless
// something broke, or BENCH_STRICT=1 and a target missed.
// The Lighthouse JSON reports go to bench-out/.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync, constants as zc } from 'node:zlib';
import lighthouse from 'lighthouse';
import { launch } from 'chrome-launcher';
import { root, freePort, startGateway } from '../browser/gateway.mjs';

const outDir = join(root, 'bench-out');
mkdirSync(outDir, { recursive: true });

const KAKAOTALK_IOS = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 KAKAOTALK 10.4.5';
const GZIP_BUDGET = 14_336;
const SCORE_TARGET = 95;
const CHROME = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

const COMMAND = 'node tests/bench/page.mjs';
let missed = 0;
const figure = (name, value, goal) => console.log(`bench: ${name} | ${value} | ${goal} | ${COMMAND}`);
const verdict = (ok) => { if (!ok) missed++; return ok ? 'ok' : 'MISSED'; };

// The first HTML a recipient gets: the short link's 302, then the page it points to.
async function firstHtml(shortUrl) {
  const hop = await fetch(shortUrl, { redirect: 'manual', headers: { 'user-agent': KAKAOTALK_IOS } });
  if (hop.status !== 302) throw new Error(`short link answered ${hop.status}, not 302`);
  const pageUrl = new URL(hop.headers.get('location'), shortUrl).href;
  // identity: the raw bytes the handler produced (Lambda behind API Gateway does not compress).
  const resp = await fetch(pageUrl, { headers: { 'user-agent': KAKAOTALK_IOS, 'accept-encoding': 'identity' } });
  if (resp.status !== 200) throw new Error(`page answered ${resp.status}`);
  const body = Buffer.from(await resp.arrayBuffer());
  return { pageUrl, body, type: resp.headers.get('content-type'), encoding: resp.headers.get('content-encoding') };
}

async function runLighthouse(url, label, userAgent, extraHeaders) {
  const chrome = await launch({
    chromePath: CHROME,
    chromeFlags: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--no-first-run'],
  });
  try {
    const flags = { port: chrome.port, output: 'json', logLevel: 'error', onlyCategories: ['performance', 'accessibility'],
      ...(extraHeaders ? { extraHeaders } : {}) };
    // No config: Lighthouse's default, which is mobile (emulated phone screen, simulated throttling).
    const config = userAgent
      ? { extends: 'lighthouse:default', settings: { emulatedUserAgent: userAgent } }
      : undefined;
    const result = await lighthouse(url, flags, config);
    const lhr = result.lhr;
    writeFileSync(join(outDir, `lighthouse-${label}.json`), result.report);
    if (lhr.runtimeError) throw new Error(`Lighthouse: ${lhr.runtimeError.code}: ${lhr.runtimeError.message}`);
    for (const w of lhr.runWarnings || []) console.log(`  lighthouse warning (${label}): ${w}`);
    const perf = Math.round((lhr.categories.performance.score ?? 0) * 100);
    const a11y = Math.round((lhr.categories.accessibility.score ?? 0) * 100);
    const a = lhr.audits;
    const ms = (id) => (a[id]?.numericValue != null ? `${Math.round(a[id].numericValue)} ms` : 'n/a');
    const run = `lighthouse ${label} (${lhr.configSettings.formFactor}, Lighthouse ${lhr.lighthouseVersion})`;
    figure(`${run}: performance`, perf, `>= ${SCORE_TARGET}: ${verdict(perf >= SCORE_TARGET)}`);
    figure(`${run}: accessibility`, a11y, `>= ${SCORE_TARGET}: ${verdict(a11y >= SCORE_TARGET)}`);
    console.log(`  metrics: FCP ${ms('first-contentful-paint')}, LCP ${ms('largest-contentful-paint')}, ` +
      `TBT ${ms('total-blocking-time')}, CLS ${a['cumulative-layout-shift']?.numericValue?.toFixed(3) ?? 'n/a'}, ` +
      `Speed Index ${ms('speed-index')}`);
    // Anything loaded from another origin (the share button's SDK only loads when tapped).
    const origin = new URL(url).origin;
    if (new URL(lhr.finalDisplayedUrl || lhr.finalUrl || url).pathname !== new URL(url).pathname) {
      throw new Error(`Lighthouse ${label} ended on ${lhr.finalDisplayedUrl || lhr.finalUrl}, not ${url}`);
    }
    const requests = a['network-requests']?.details?.items ?? [];
    const foreign = requests.filter((r) => { try { return new URL(r.url).origin !== origin && !r.url.startsWith('data:'); } catch { return false; } });
    console.log(`  requests: ${requests.length} (${foreign.length} third-party${foreign.length ? ': ' + foreign.map((r) => r.url).join(', ') : ''})` +
      `, transferred ${requests.reduce((n, r) => n + (r.transferSize || 0), 0)} bytes`);
    // Why a category is not 100 (under target or not): its failing audits, heaviest first.
    for (const [id, cat] of Object.entries(lhr.categories)) {
      if (Math.round((cat.score ?? 0) * 100) >= 100) continue;
      const failing = cat.auditRefs
        .filter((r) => r.weight > 0 && a[r.id] && a[r.id].score !== null && a[r.id].score < 1)
        .sort((x, y) => y.weight - x.weight);
      for (const r of failing) {
        console.log(`  ${id} failing: ${r.id} (weight ${r.weight}, score ${a[r.id].score}): ${a[r.id].displayValue || a[r.id].title}`);
        const items = a[r.id].details?.items ?? [];
        for (const it of items.slice(0, 4)) {
          const why = (it.node?.explanation || '').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('Fix ')).join(' ');
          const at = it.node?.selector ? ` [${it.node.selector}]` : '';
          console.log(`    ${it.node?.snippet ?? it.url ?? ''}${at} ${why}`.slice(0, 400));
        }
        if (items.length > 4) console.log(`    … ${items.length - 4} more in bench-out/lighthouse-${label}.json`);
      }
    }
    return { perf, a11y };
  } finally {
    await chrome.kill();
  }
}

// The console's pages, signed in: users added with the CLI while the gateway is stopped (one
// process opens the data file), then a session cookie from posting the sign-in form.
const CONSOLE_PASSWORD = 'bench-console-pass-2026';
function addUsers(dataFile) {
  const bin = process.env.MCAMP_CLI_BIN;
  const [cmd, args] = bin ? [bin, []] : ['cargo', ['run', '--release', '-q', '-p', 'mcamp-cli', '--']];
  for (const [email, role] of [['admin@brand.kr', 'admin'], ['staff@gangnam.kr', 'store:gangnam-01']]) {
    const r = spawnSync(cmd, [...args, '--data', dataFile, 'users', 'add', email, '--role', role],
      { cwd: root, encoding: 'utf8', input: `${CONSOLE_PASSWORD}\n` });
    if (r.status !== 0) throw new Error(`mcamp users add ${email}: ${r.stderr}`);
  }
}
async function consoleCookie(base, email) {
  const r = await fetch(`${base}/console/sign-in`, {
    method: 'POST', redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: base },
    body: new URLSearchParams({ email, password: CONSOLE_PASSWORD }).toString(),
  });
  const cookie = (r.headers.get('set-cookie') || '').split(';')[0];
  if (r.status !== 303 || !cookie.startsWith('__Host-mcamp_console=')) throw new Error(`signing in ${email}: ${r.status}`);
  return cookie;
}

const dataDir = mkdtempSync(join(tmpdir(), 'mcamp-bench-page-'));
const port = await freePort();
let gateway;
let broke = false;
try {
  // A cold release build (fat LTO) on two cores takes a while.
  gateway = await startGateway({
    port, dataFile: join(dataDir, 'mcamp.db'), demos: ['demo', 'survey'], release: true, timeoutMs: 900_000,
    ready: (f) => Object.keys(f.campaigns['spring-demo'] || {}).length >= 3
      && Object.keys(f.campaigns['spring-survey'] || {}).length >= 3,
  });
  const weigh = (label, pageUrl, body, type, encoding, who = 'KakaoTalk iOS') => {
    const gz = gzipSync(body, { level: zc.Z_BEST_COMPRESSION }).length;
    figure(`${label} first HTML (${new URL(pageUrl).pathname}${new URL(pageUrl).search}, ${who}, ${type}${encoding ? `, served ${encoding}` : ''})`,
      `${body.length} bytes raw, ${gz} bytes gzip -9`, `<= ${GZIP_BUDGET} bytes gzip: ${verdict(gz <= GZIP_BUDGET)}`);
  };
  const mdm = await firstHtml(gateway.campaigns['spring-demo']['박서연']);
  weigh('page', mdm.pageUrl, mdm.body, mdm.type, mdm.encoding);
  // The survey: its intro (what the short link opens) and its heaviest screen, the picture
  // question with a video (the first question on 김민지's path after "no").
  const survey = await firstHtml(gateway.campaigns['spring-survey']['김민지']);
  weigh('survey', survey.pageUrl, survey.body, survey.type, survey.encoding);
  // Answer the first question "no" as a browser would (token from the first screen).
  const q1 = await (await fetch(`${survey.pageUrl}?start=1`, { headers: { 'user-agent': KAKAOTALK_IOS } })).text();
  const token = q1.match(/name="token" value="([^"]+)"/)?.[1];
  if (!token) throw new Error('no form token on the first survey screen');
  await fetch(survey.pageUrl, { method: 'POST', redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `token=${token}&q=tried&v=no` });
  const pic = await fetch(survey.pageUrl, { headers: { 'user-agent': KAKAOTALK_IOS, 'accept-encoding': 'identity' } });
  weigh('survey picture question', survey.pageUrl, Buffer.from(await pic.arrayBuffer()), pic.headers.get('content-type'), null);

  await runLighthouse(mdm.pageUrl, 'mobile', undefined);
  await runLighthouse(mdm.pageUrl, 'mobile-kakaotalk', KAKAOTALK_IOS);
  await runLighthouse(survey.pageUrl, 'survey-picture-mobile', undefined);

  // The console: the dashboard of the demo campaign (with the clicks above) and the staff page.
  const exited = new Promise((r) => gateway.child.once('exit', r));
  gateway.child.kill('SIGTERM');
  await exited;
  gateway = null;
  addUsers(join(dataDir, 'mcamp.db'));
  gateway = await startGateway({ port, dataFile: join(dataDir, 'mcamp.db'), demos: [], release: true, timeoutMs: 900_000, ready: () => true });
  const base = `http://127.0.0.1:${port}`;
  const pages = [
    ['console-dashboard', `${base}/console/campaigns/spring-demo`, await consoleCookie(base, 'admin@brand.kr')],
    ['console-staff', `${base}/console/stores/gangnam-01`, await consoleCookie(base, 'staff@gangnam.kr')],
  ];
  for (const [label, url, cookie] of pages) {
    const resp = await fetch(url, { redirect: 'manual', headers: { cookie, 'accept-encoding': 'identity' } });
    if (resp.status !== 200) throw new Error(`${label}: ${url} answered ${resp.status}`);
    weigh(label, url, Buffer.from(await resp.arrayBuffer()), resp.headers.get('content-type'), null, 'signed in');
    await runLighthouse(url, `${label}-mobile`, undefined, { Cookie: cookie });
  }
} catch (e) {
  broke = true;
  // One line for the table, then the stack.
  console.log(`bench: page FAILED: ${String(e && e.message || e).split('\n')[0]}`);
  if (e && e.stack) console.log(e.stack);
} finally {
  if (gateway) gateway.child.kill('SIGTERM');
  rmSync(dataDir, { recursive: true, force: true });
}

if (missed) figure('page: targets missed', missed, '0: MISSED');
process.exit(broke || (missed && process.env.BENCH_STRICT === '1') ? 1 : 0);
