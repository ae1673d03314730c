// keygen.test.mjs — the keys the tests generate never deadlock node.
//
// On Node 20, exporting a KeyObject that generateKeyPairSync made as a JWK
// (key.export({ format: 'jwk' })) can hang the process for good: when a
// garbage collection runs during the export (it allocates the JWK's
// properties with the key's mutex held) and collects the finished
// generation job, the job's destructor takes that same mutex.  The main
// thread then waits on itself in a futex, its event loop stops, and the
// test runner's SIGTERM at the file's timeout is never handled: a make
// check of f5843c2 hung so in proofing-code.test.mjs, in demo/bank.mjs's
// signing key, before its server was started.  The helpers now take the
// JWK from the generator itself (privateKeyEncoding: { format: 'jwk' }).
// Each is run here in a child that collects garbage every 20 allocations
// (V8's --gc-interval): the old way hangs there within a few hundred keys.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const url = (p) => pathToFileURL(path.join(here, p)).href;

// Run `body` (module code, with `forSeconds(s, fn, max)` to call fn as
// often as fits in s seconds, at most max times) in a child under GC
// pressure; it must end within `limitMs`.  Answers what it printed.
async function underGcPressure(imports, body, limitMs = 30000) {
  const code = `${imports}
const junk = [];
const forSeconds = async (s, fn, max = Infinity) => {
  let n = 0;
  for (const end = Date.now() + s * 1000; Date.now() < end && n < max; n++) {
    await fn();
    junk.push({ n, s: 'x'.repeat(100) }); // garbage between calls: collections come oftener
    if (junk.length > 1000) junk.length = 0;
  }
  return n;
};
${body}`;
  const env = { ...process.env };
  delete env.NODE_TEST_CONTEXT; // a script, not a test file (no harness hooks, no watchdog)
  delete env.SLEUTEL_TEST_PIDS;
  const child = spawn(process.execPath, ['--max-semi-space-size=1', '--gc-interval=20', '--input-type=module', '-e', code],
    { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { out += d; });
  const t0 = Date.now();
  const bound = setTimeout(() => child.kill('SIGKILL'), limitMs);
  const [code_, signal] = await new Promise((resolve) => child.on('close', (c, s) => resolve([c, s])));
  clearTimeout(bound);
  assert.ok(signal === null, `still running after ${Date.now() - t0} ms (deadlocked?), killed: ${out}`);
  assert.equal(code_, 0, out);
  return out;
}

test('the demo bank\'s signing keys (ES256 and RS256) come out as JWKs without deadlock', async () => {
  const out = await underGcPressure(`import { signingKey } from '${url('../../demo/bank.mjs')}';`, `
const ec = await forSeconds(4, () => { const k = signingKey('ES256'); if (!k.d || k.crv !== 'P-256') throw new Error('no EC JWK'); }, 20000);
const rsa = await forSeconds(2, () => { const k = signingKey('RS256'); if (!k.d || !k.n) throw new Error('no RSA JWK'); }, 40);
console.log(ec, rsa);`);
  const [ec, rsa] = out.trim().split('\n').pop().split(' ').map(Number);
  assert.ok(ec > 50 && rsa >= 1, `keys made: ${out}`);
});

test('a test phone\'s keys (lib/phone.mjs) are made without deadlock, and its confirmation key signs', async () => {
  const out = await underGcPressure(`import { Phone } from '${url('lib/phone.mjs')}';
import crypto from 'node:crypto';`, `
const n = await forSeconds(4, async () => {
  const p = await new Phone({ base: 'https://127.0.0.1:1', issuer: 'https://127.0.0.1:1' }).init();
  const sig = crypto.sign('sha256', Buffer.from('x'), { key: p.confirmKey, dsaEncoding: 'der' });
  const pub = crypto.createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: p.Q.x, y: p.Q.y }, format: 'jwk' });
  if (!crypto.verify('sha256', Buffer.from('x'), { key: pub, dsaEncoding: 'der' }, sig)) throw new Error('Q is not the key');
});
console.log(n);`);
  assert.ok(Number(out.trim().split('\n').pop()) > 20, `phones made: ${out}`);
});
