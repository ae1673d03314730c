// lib.mjs — what the login benchmarks share: options, the browser's end
// of a login (wait page attributes, the RP's token exchange) and the
// timed worker loop with its percentiles.
import { createHash, randomBytes } from 'node:crypto';

// `--name N` from the command line, or `dflt`.
export const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};

// An attribute of a wait page (data-poll, data-next), entities undone.
export const attr = (html, name) => {
  const m = html.match(new RegExp(`${name}="([^"]*)"`));
  return m ? m[1].replace(/&amp;/g, '&') : null;
};

// The RP sends a browser (`agent`) to /authorize with PKCE: the pending
// request's id (for the key pages) and the verifier for the token exchange.
export async function startAuthorize(server, agent, client, redirect = 'https://rp.example/cb') {
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  const res = await agent.get(`${server.base}/authorize?` + new URLSearchParams({
    client_id: client.client_id, redirect_uri: redirect, response_type: 'code', scope: 'openid profile',
    state: 's', code_challenge: challenge, code_challenge_method: 'S256' }));
  return { req: new URL(res.headers.get('location'), server.base).searchParams.get('req'), verifier };
}

// The RP's side once the browser is back: redeem the code; the ID token or false.
export async function tokenExchange(server, client, back, verifier, redirect = 'https://rp.example/cb') {
  const basic = 'Basic ' + Buffer.from(`${client.client_id}:${client.client_secret}`).toString('base64');
  const tok = await fetch(`${server.base}/token`, {
    method: 'POST',
    headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', code: back.searchParams.get('code') || '',
      redirect_uri: redirect, code_verifier: verifier }) });
  return tok.status === 200 && (await tok.json()).id_token;
}

// The p-th percentile of `a` in ms with one decimal (sorts `a`), or null.
export function pct(a, p) {
  a.sort((x, y) => x - y);
  return a.length ? Number(a[Math.min(a.length - 1, Math.floor(a.length * p))].toFixed(1)) : null;
}

// Run login(owner) in a loop per owner for `seconds`, at most `max` in all.
// { done, failed, seconds, total } with each login's time in ms.
export async function runWorkers(owners, login, { seconds, max }) {
  let done = 0, failed = 0;
  const total = [];
  const until = Date.now() + seconds * 1000;
  async function worker(owner) {
    while (Date.now() < until && done + failed < max) {
      const t0 = performance.now();
      try {
        if (await login(owner)) done++; else failed++;
      } catch (e) {
        failed++;
        if (failed < 5) console.error(e.message);
      }
      total.push(performance.now() - t0);
    }
  }
  const start = Date.now();
  await Promise.all(owners.map(worker));
  return { done, failed, seconds: (Date.now() - start) / 1000, total };
}

// W people registered for Smart-ID, one test phone each ({ person, phone }),
// national numbers from `birth` (YYMMDD) and the seconds it took.
export async function smartIdWorkers(server, n, { family, birth }) {
  const { registerSmartId } = await import('../tests/integration/lib/smartid.mjs');
  const { rrn } = await import('../tests/integration/lib/eid.mjs');
  const setup = Date.now();
  const workers = [];
  for (let i = 0; i < n; i++) {
    const person = { given: 'Bench', family: `${family}${i}`, rrn: rrn(birth, 100 + 2 * i) };
    workers.push({ person, phone: await registerSmartId(server, person, { deviceName: `bench ${i}` }) });
  }
  return { workers, setupSeconds: (Date.now() - setup) / 1000 };
}
