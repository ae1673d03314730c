// smartid-register-load.mjs — what POST /device/v1/smartid/register costs
// the rest of the server: the latency of the discovery GET
// (/.well-known/openid-configuration, each over a NEW connection, so it is
// never queued behind a kept-alive one) idle, then while W loops each keep
// one POST /register in flight for D seconds at [smartid] key_bits BITS
// (3072: production).  Each start is a new transport key replaying the
// same pair of shares (made once, by the test phone), as the security
// review did.  Before the keygen moved to the portal's confirmation, each
// start made two RSA keys on an HTTP thread (~1.7 s of CPU at 3072 bits).
//
//   eval "$(sh scripts/test-env.sh)"; node bench/smartid-register-load.mjs --workers 4 --seconds 10 --bits 3072
import http from 'node:http';
import https from 'node:https';
import { parseArgs } from 'node:util';
import { startServer } from '../tests/integration/lib/harness.mjs';
import { SmartIdPhone, splitKeygen } from '../tests/integration/lib/smartid.mjs';

const { values } = parseArgs({ options: { workers: { type: 'string', default: '4' },
  seconds: { type: 'string', default: '10' }, bits: { type: 'string', default: '3072' } } });
const W = Number(values.workers);
const D = Number(values.seconds) * 1000;
const BITS = Number(values.bits);

const server = await startServer({ demo: true, config: { smartid: { key_bits: BITS, rate_ip: 1000000 } } });
const keys = { auth: splitKeygen(BITS), sign: splitKeygen(BITS) };
const sleep = (ms) => new Promise((res) => setTimeout(res, ms));

function discovery() {
  const u = new URL(`${server.base}/.well-known/openid-configuration`);
  const t = performance.now();
  return new Promise((res, rej) => {
    (u.protocol === 'https:' ? https : http).get(u, { agent: false }, (r) => {
      r.resume();
      r.on('end', () => res(performance.now() - t));
    }).on('error', rej);
  });
}
function stats(a) {
  a.sort((x, y) => x - y);
  const at = (q) => a[Math.min(a.length - 1, Math.floor(a.length * q))].toFixed(1);
  return { n: a.length, p50_ms: at(0.5), p90_ms: at(0.9), max_ms: at(1) };
}

try {
  const idle = [];
  for (let i = 0; i < 20; i++) idle.push(await discovery());
  let stop = false;
  const posts = [];
  const loop = async () => {
    while (!stop) {
      const phone = await new SmartIdPhone(server).init();
      const t = performance.now();
      const r = await phone.register({ keys: { auth: { ...keys.auth }, sign: { ...keys.sign } } });
      if (r.status !== 201) throw new Error(`POST /register: ${r.status} ${JSON.stringify(r.body)}`);
      posts.push(performance.now() - t);
    }
  };
  const loops = Array.from({ length: W }, loop);
  await sleep(1000);
  const busy = [];
  for (const end = Date.now() + D; Date.now() < end; await sleep(100)) busy.push(await discovery());
  stop = true;
  await Promise.all(loops);
  console.log(JSON.stringify({ bits: BITS, workers: W, discovery_idle: stats(idle), discovery_during: stats(busy),
    register: stats(posts) }, null, 1));
} finally {
  await server.stop();
}
