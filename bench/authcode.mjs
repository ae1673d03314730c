// authcode.mjs — authorization-code round trips per second against a real
// sleuteld: authorize with an SSO session → code → token, repeated by C
// concurrent workers for D seconds (bounded: at most MAX round trips).
//
//   eval "$(sh scripts/test-env.sh)"; node bench/authcode.mjs [--seconds 10] [--workers 8]
//
// Each round trip is two HTTPS requests over kept-alive connections, with
// PKCE, a fresh code and a fresh token set (access, refresh under offline_access,
// ES256 ID token).
import { createHash, randomBytes } from 'node:crypto';
import { startServer, loginWithTestKey, Agent } from '../tests/integration/lib/harness.mjs';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const SECONDS = arg('seconds', 10);
const WORKERS = arg('workers', 8);
const MAX = arg('max', 200000);

const b64url = (b) => b.toString('base64url');
const server = await startServer();
try {
  const c = await server.client({ scopes: 'openid profile offline_access' });
  const redirect = 'https://rp.example/cb';
  const basic = 'Basic ' + Buffer.from(`${c.client_id}:${c.client_secret}`).toString('base64');
  const agent = new Agent();
  const authorizeUrl = (challenge) => `${server.base}/authorize?` + new URLSearchParams({
    client_id: c.client_id, redirect_uri: redirect, response_type: 'code', scope: 'openid profile offline_access',
    state: 's', code_challenge: challenge, code_challenge_method: 'S256' });
  // One interactive login makes the SSO session the round trips reuse.
  const v0 = b64url(randomBytes(32));
  await loginWithTestKey(server, authorizeUrl(b64url(createHash('sha256').update(v0).digest())), { agent });

  let done = 0, failed = 0;
  const lat = [];
  const until = Date.now() + SECONDS * 1000;
  async function worker() {
    while (Date.now() < until && done + failed < MAX) {
      const t0 = performance.now();
      const verifier = b64url(randomBytes(32));
      const res = await agent.get(authorizeUrl(b64url(createHash('sha256').update(verifier).digest())));
      const code = new URL(res.headers.get('location') || 'x:/').searchParams.get('code');
      const tok = await fetch(`${server.base}/token`, {
        method: 'POST',
        headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'authorization_code', code: code || '', redirect_uri: redirect,
          code_verifier: verifier }) });
      const body = await tok.json();
      if (tok.status === 200 && body.id_token) done++; else failed++;
      lat.push(performance.now() - t0);
    }
  }
  const start = Date.now();
  await Promise.all(Array.from({ length: WORKERS }, worker));
  const secs = (Date.now() - start) / 1000;
  lat.sort((a, b) => a - b);
  const pct = (p) => lat[Math.min(lat.length - 1, Math.floor(lat.length * p))].toFixed(1);
  console.log(JSON.stringify({ round_trips: done, failed, seconds: Number(secs.toFixed(2)),
    per_second: Number((done / secs).toFixed(1)), workers: WORKERS, p50_ms: pct(0.5), p99_ms: pct(0.99) }));
} finally {
  await server.stop();
}
