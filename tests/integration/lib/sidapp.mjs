// sidapp.mjs — the reference app (sleutel-app) as a registered Smart-ID
// phone, for the tests of its RP API side (smartid-rpapi-app*.test.mjs):
// a whole registration with the REAL app (PINs from stdin), the portal
// part done with an eID test card.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import path from 'node:path';
import { Agent } from './harness.mjs';
import { issueCard } from './eid.mjs';
import { portalEidLogin, portalSteps } from './smartid.mjs';
import { runApp } from './app.mjs';

// Register `person` with sleutel-app into `where.state` (`where`: { server,
// ca, state }); `dir` holds the test card.  Resolves to the finish answer
// ({ device_id, document_number, certificates }).
export async function registerApp(where, person, { pin1, pin2, dir, name = 'Terminal' }) {
  let r = await runApp(where, ['--json', 'smartid', 'register', '--name', name], `${pin1}\n${pin2}\n`);
  assert.equal(r.code, 0, r.stderr);
  const cardDir = mkdtempSync(path.join(dir, 'card-'));
  try {
    const card = await issueCard(where.server.pkiDir, cardDir, person);
    const agent = new Agent();
    await portalEidLogin(where.server, agent, card);
    const end = await portalSteps(where.server, agent, r.json.registration_code);
    assert.equal(end.status, 200, end.body);
  } finally {
    rmSync(cardDir, { recursive: true, force: true });
  }
  r = await runApp(where, ['--json', 'smartid', 'status', '--wait', '10']);
  assert.equal(r.json?.status, 'confirmed', r.stdout + r.stderr);
  r = await runApp(where, ['--json', 'smartid', 'finish'], `${pin1}\n${pin2}\n`);
  assert.equal(r.code, 0, r.stderr);
  return r.json;
}

// The first RP API request on the app's channel (waits up to `secs`).
export async function appRpRequest(where, secs = 5) {
  const r = await runApp(where, ['--json', 'smartid', 'pending', '--wait', String(secs)]);
  assert.equal(r.code, 0, r.stderr);
  const rq = r.json.requests.find((q) => q.rp_api);
  assert.ok(rq, `no RP API request reached the app: ${r.stdout}`);
  return rq;
}
