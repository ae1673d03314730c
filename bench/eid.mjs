// eid.mjs — eID logins per second and plain TLS handshakes per second on
// the same sleuteld, measured in one run.
//
//   eval "$(sh scripts/test-env.sh)"; node bench/eid.mjs [--seconds 10] [--workers 8]
//
// An eID login here is the whole path a browser takes with a card: the
// authorization request, the key page, a fresh TLS handshake with the
// client certificate on the eID origin (validation; OCSP answered from the
// verdict cache after the first), the finish, and the code at the RP.
// A plain handshake is a fresh TLS connection for GET /healthz.
import https from 'node:https';
import { execFileSync } from 'node:child_process';
import { readFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startServer, Agent, SLEUTEL } from '../tests/integration/lib/harness.mjs';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const SECONDS = arg('seconds', 10);
const WORKERS = arg('workers', 8);
const ca = readFileSync(path.join(process.env.SLEUTEL_TEST_CA, 'ca.pem'));

function get(url, extra = {}) {
  return new Promise((resolve, reject) => {
    const req = https.get(url, { ca, agent: false, ...extra }, (res) => {
      res.resume();
      res.on('end', () => resolve(res));
    });
    req.on('error', reject);
  });
}

async function run(fn) {
  let done = 0, failed = 0;
  const until = Date.now() + SECONDS * 1000;
  const start = Date.now();
  await Promise.all(Array.from({ length: WORKERS }, async () => {
    while (Date.now() < until) {
      try { if (await fn()) done++; else failed++; } catch { failed++; }
    }
  }));
  const secs = (Date.now() - start) / 1000;
  return { done, failed, per_second: Number((done / secs).toFixed(1)) };
}

const server = await startServer({ demo: true });
try {
  const tmp = mkdtempSync(path.join(tmpdir(), 'sleutel-bench-'));
  const p12 = path.join(tmp, 'card.p12');
  execFileSync(SLEUTEL, ['pki', 'card', server.pkiDir, '--name', 'Demo Citizen', '--rrn', '85073003328',
    '--out', p12, '--pin', '1234']);
  const pfx = readFileSync(p12);
  const c = await server.client({});
  const authorize = `${server.base}/authorize?` + new URLSearchParams({ client_id: c.client_id,
    redirect_uri: 'https://rp.example/cb', response_type: 'code', scope: 'openid', state: 's',
    code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256' });

  const handshakes = await run(async () => (await get(`${server.base}/healthz`)).statusCode === 200);

  const logins = await run(async () => {
    const agent = new Agent();
    const r1 = await agent.get(authorize);
    const req = new URL(r1.headers.get('location'), server.base).searchParams.get('req');
    const page = await (await agent.get(`${server.base}/key/eid?req=${req}`)).text();
    const eidUrl = /href="(https:\/\/127\.0\.0\.1:\d+\/eid\/login[^"]+)"/.exec(page)[1].replaceAll('&amp;', '&');
    const r2 = await get(eidUrl, { pfx, passphrase: '1234' });
    if (r2.statusCode !== 303) return false;
    const r3 = await agent.get(r2.headers.location);
    return new URL(r3.headers.get('location')).searchParams.has('code');
  });
  console.log(JSON.stringify({ seconds: SECONDS, workers: WORKERS,
    tls_handshakes_per_second: handshakes.per_second, handshake_failures: handshakes.failed,
    eid_logins_per_second: logins.per_second, eid_logins: logins.done, eid_failures: logins.failed }));
} finally {
  await server.stop();
}
