// The local gateway for the browser test and the page bench: started on a free port over a
// fresh embedded data file, seeded with demo folders; its stdout lists each demo's links under
// a "Demo campaign … (id)" heading (people's links, and for MCS each store's poster link).

import { spawn, spawnSync } from 'node:child_process';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import net from 'node:net';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
    s.on('error', reject);
  });
}

/// `{ campaigns: { id: { name: url } }, stores: { store: url } }` from the gateway's output.
export function parseLinks(text) {
  const campaigns = {}, stores = {};
  let current = null;
  for (const line of text.split('\n')) {
    const head = line.match(/^Demo campaign .* \(([\w-]+)\):/);
    if (head) { current = head[1]; campaigns[current] = {}; continue; }
    const store = line.match(/^\s+.+ \(([\w-]+)\) poster link: (http:\/\/127\.0\.0\.1:\d+\/\w+)$/);
    if (store) { stores[store[1]] = store[2]; continue; }
    const person = line.match(/^\s+(\S+)\s+\S+\s+(http:\/\/127\.0\.0\.1:\d+\/\w+)$/);
    if (person && current) campaigns[current][person[1]] = person[2];
  }
  return { campaigns, stores };
}

/// Starts the gateway (MCAMP_GATEWAY_BIN, or `cargo run`) seeded with `demos` (folders under
/// examples/) and resolves once `ready(links)` holds for the links printed so far.
export async function startGateway({ port, dataFile, demos, ready, release = false, timeoutMs = 300_000 }) {
  const bin = process.env.MCAMP_GATEWAY_BIN;
  const cargo = ['run', ...(release ? ['--release'] : []), '-q', '-p', 'mcamp-gateway', '--'];
  const [cmd, args] = bin ? [bin, []] : ['cargo', cargo];
  const seeds = demos.flatMap((d) => ['--seed', d.startsWith('/') ? d : join(root, 'examples', d)]);
  const child = spawn(cmd, [...args, '--port', String(port), '--data', dataFile, ...seeds],
    { cwd: root, stdio: ['ignore', 'pipe', 'inherit'], env: { RUST_LOG: 'warn', ...process.env } });
  let text = '';
  const links = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`gateway did not print its links in ${timeoutMs / 1000} s`)), timeoutMs);
    child.stdout.on('data', (d) => {
      text += d;
      const found = parseLinks(text);
      if (ready(found)) { clearTimeout(timer); resolve(found); }
    });
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`gateway exited with ${code}`)); });
  });
  return { child, ...links };
}

// The gateway's aggregator follows the change feed every 500 ms: waits until it has taken every
// event of the embedded store at `dataFile` (read beside the gateway; WAL lets a reader in).
export async function aggregated(dataFile) {
  const probe = `
import sqlite3, sys, json
c = sqlite3.connect("file:" + sys.argv[1] + "?mode=ro", uri=True)
last = c.execute("SELECT max(seq) FROM changes WHERE tbl=1").fetchone()[0] or 0
row = c.execute("SELECT item FROM items WHERE tbl=0 AND pk='CURSOR#aggregator'").fetchone()
print(json.dumps([last, int(json.loads(row[0])["at"]) if row else 0]))
`;
  for (let i = 0; ; i++) {
    const r = spawnSync('python3', ['-c', probe, dataFile], { encoding: 'utf8' });
    const [last, at] = JSON.parse(r.stdout);
    if (at >= last) return;
    if (i >= 100) throw new Error(`the aggregator is at ${at} of ${last} after 10 s`);
    await new Promise((res) => setTimeout(res, 100));
  }
}
