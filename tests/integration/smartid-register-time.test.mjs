// smartid-register-time.test.mjs — the Smart-ID registration code's time
// and tries (WCAG 2.2.1, issue 13 item 4; src/keys/splitkey/reg_more.c,
// reg_pages.c): "I need more time" on the code page (the visit's clock,
// and the code's once typed) and on the confirm page (the code's), a plain
// POST with the browser's CSRF token that starts the window again from
// now, at most 10 times, one conditional UPDATE each (two at once count
// once; with more than the warning's 2 minutes left nothing is added or
// counted), each
// audited as "smartid.register.extend"; the app sees the new deadline.
// The code's guesses are bounded by count, not time: [smartid]
// code_wrong_max wrong codes over its whole life, across every visit and
// extension, counted in one statement (tries at once cannot pass it); then
// the code is dead on the portal and for the app.  Since a wrong code
// counts against every live code, every code typed is first charged to the
// person ([smartid] code_wrong_person) and to the address (code_wrong_ip)
// per code_wrong_window, before it is tested: past either a 429 page,
// nothing tested, tries at once cannot pass it.
//
// The browser side (the warning, the keyboard) is
// tests/browser/smartid-register-time.test.mjs.  Runs on the engine of
// SLEUTEL_TEST_ENGINE (SQLite, or PostgreSQL with SLEUTEL_TEST_PG).
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { rmSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { Agent, hiddenInputs, startServer } from './lib/harness.mjs';
import { sql as dbSql, sqlRows } from './lib/db.mjs';
import { h1, issueCard, tmp } from './lib/eid.mjs';
import { PORTAL, SmartIdPhone, portalEidLogin, portalSteps } from './lib/smartid.mjs';

const LIFETIME = 300; // [smartid] registration_lifetime: the window more time starts again
const EXTENSIONS_MAX = 10; // SID_REG_EXTENSIONS_MAX
const WRONG_MAX = 4; // [smartid] code_wrong_max, small for the test
const JAN = { given: 'Jan', family: 'Peeters', rrn: '85073003328' };
const ELS = { given: 'Els', family: 'Maes', rrn: '90020199704' };

let server;
let dir;
const cards = new Map();

before(async () => {
  server = await startServer({ demo: true, config: { smartid: { key_bits: 1024, rate_ip: 1000,
    registration_lifetime: LIFETIME, code_wrong_max: WRONG_MAX } } });
  dir = tmp('sleutel-sidtime-');
});
after(async () => {
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const sql = (q) => dbSql(server, q);
const now = () => Math.floor(Date.now() / 1000);
const reg = (id) => sqlRows(server,
  `SELECT expires, extended, code_wrong, status FROM sid_registrations WHERE id = '${id}'`)[0];
const visit = (agent) => {
  const id = crypto.createHash('sha256').update(agent.cookies.get('__Host-sl_sidreg')).digest('hex');
  return { id, ...sqlRows(server, `SELECT expires, extended FROM sid_visits WHERE id = '${id}'`)[0] };
};
const extendAudits = () => sqlRows(server,
  "SELECT result, detail FROM audit WHERE event = 'smartid.register.extend' ORDER BY seq");

// A browser logged in with the person's card on the portal, questions
// answered: on the code page.
async function onCodePage(person) {
  if (!cards.has(person.rrn)) cards.set(person.rrn, await issueCard(server.pkiDir, dir, person));
  const agent = new Agent();
  await portalEidLogin(server, agent, cards.get(person.rrn));
  await portalSteps(server, agent, null, { stopAt: 'code', lang: 'en' });
  return agent;
}
const get = async (agent, page) => {
  const res = await agent.get(`${server.base}${PORTAL}/${page}?lang=en`);
  return { status: res.status, html: await res.text() };
};
const post = (agent, page, form) => agent.post(`${server.base}${PORTAL}/${page}`, form);
const where = (res) => new URL(res.headers.get('location'), server.base);

test('more time on the code page, then on the confirm page: 10 times, then refused', async () => {
  const phone = await new SmartIdPhone(server).init();
  assert.equal((await phone.register({ deviceName: 'Pixel' })).status, 201);
  const agent = await onCodePage(JAN);
  let p = await get(agent, 'code');
  assert.equal(p.status, 200);
  assert.match(p.html, /<button type="submit" class="secondary" id="timelimit-more" name="more" value="1" formnovalidate>I need more time<\/button>/);
  assert.match(p.html, /Time limit: this page ends in 5 minutes\./);
  const form = hiddenInputs(p.html);
  assert.ok(form.csrf, 'the form has the CSRF token');

  // Code page, nothing typed: the visit's clock.  A whole window left: nothing.
  let res = await post(agent, 'code', { ...form, code: '', more: '1' });
  assert.equal(res.status, 303);
  assert.equal(where(res).searchParams.get('more'), '0');
  assert.equal(visit(agent).extended, 0);
  assert.match((await get(agent, 'code?more=0&x=')).html, /This page has more than 2 minutes left: no time was added\. Ask again when less than 2 minutes are left\./);
  const v = visit(agent);
  sql(`UPDATE sid_visits SET expires = ${now() + 20} WHERE id = '${v.id}'`);
  let t = now();
  res = await post(agent, 'code', { ...form, code: '', more: '1' });
  assert.equal(where(res).pathname, `${PORTAL}/code`);
  assert.equal(where(res).searchParams.get('more'), '1');
  assert.equal(visit(agent).extended, 1);
  assert.ok(visit(agent).expires >= t + LIFETIME && visit(agent).expires <= now() + LIFETIME);
  assert.match((await agent.get(where(res).href).then((r) => r.text())),
    /<p id="timelimit-extended" class="notice" tabindex="-1">More time was added\.<\/p>/);

  // Without the CSRF token (or with another) nothing is counted.
  sql(`UPDATE sid_registrations SET expires = ${now() + 20} WHERE id = '${phone.registrationId}'`);
  for (const csrf of [undefined, 'x'.repeat(43)]) {
    const f = { ...form, code: phone.code, more: '1' };
    if (csrf) f.csrf = csrf; else delete f.csrf;
    res = await post(agent, 'code', f);
    assert.equal(res.status, 403);
    assert.equal(h1(await res.text()), 'This form has expired');
  }
  assert.equal(reg(phone.registrationId).extended, 0);

  // The code typed with "I need more time": it matches, and its clock starts again.
  t = now();
  res = await post(agent, 'code', { ...form, code: phone.code, more: '1' });
  assert.equal(res.status, 303);
  assert.equal(where(res).pathname, `${PORTAL}/confirm`);
  assert.equal(where(res).searchParams.get('more'), '1');
  let r = reg(phone.registrationId);
  assert.equal(r.extended, 1);
  assert.ok(r.expires >= t + LIFETIME && r.expires <= now() + LIFETIME, `${r.expires - t}`);
  // The phone sees the new deadline.
  const st = await phone.status();
  assert.equal(st.status, 200);
  assert.ok(st.body.expires_in > LIFETIME - 5, `expires_in ${st.body.expires_in}`);

  p = await get(agent, 'confirm');
  assert.match(p.html, /action="\/smartid\/register\/confirm" class="timelimit-more"/);
  const more = { ...hiddenInputs(p.html.slice(p.html.indexOf('class="timelimit-more"'))), more: '1' };
  assert.deepEqual(Object.keys(more).sort(), ['csrf', 'lang', 'more']);

  // A whole window left, or more than the warning's 2 minutes: nothing
  // added, nothing counted; the page says so.
  res = await post(agent, 'confirm', more);
  assert.equal(where(res).searchParams.get('more'), '0');
  assert.equal(reg(phone.registrationId).extended, 1);
  sql(`UPDATE sid_registrations SET expires = ${now() + 125} WHERE id = '${phone.registrationId}'`);
  res = await post(agent, 'confirm', more);
  assert.equal(where(res).searchParams.get('more'), '0');
  assert.equal(reg(phone.registrationId).extended, 1);
  assert.ok(reg(phone.registrationId).expires <= now() + 125);
  assert.match(await agent.get(where(res).href).then((x) => x.text()),
    /Your registration code has more than 2 minutes left: no time was added\./);

  // Two posts at once: one extension.
  sql(`UPDATE sid_registrations SET expires = ${now() + 20} WHERE id = '${phone.registrationId}'`);
  const both = await Promise.all([post(agent, 'confirm', more), post(agent, 'confirm', more)]);
  assert.deepEqual(both.map((x) => x.status), [303, 303]);
  assert.deepEqual(both.map((x) => where(x).searchParams.get('more')).sort(), ['0', '1']);
  assert.equal(reg(phone.registrationId).extended, 2);

  for (let n = 3; n <= EXTENSIONS_MAX; n++) {
    sql(`UPDATE sid_registrations SET expires = ${now() + 20} WHERE id = '${phone.registrationId}'`);
    res = await post(agent, 'confirm', more);
    assert.equal(where(res).searchParams.get('more'), '1', `extension ${n}`);
    assert.equal(reg(phone.registrationId).extended, n);
  }
  // The 11th: no button on the page, and the post is refused with a page
  // that says what to do.
  sql(`UPDATE sid_registrations SET expires = ${now() + 20} WHERE id = '${phone.registrationId}'`);
  p = await get(agent, 'confirm');
  assert.doesNotMatch(p.html, /timelimit-more/);
  assert.match(p.html, /After that, the registration code no longer works: start the registration again/);
  res = await post(agent, 'confirm', more);
  assert.equal(res.status, 409);
  const body = await res.text();
  assert.equal(h1(body), 'No more time can be added');
  assert.match(body, /Start the registration again in the Smart-ID app: it shows a new code\./);
  r = reg(phone.registrationId);
  assert.equal(r.extended, EXTENSIONS_MAX);
  assert.ok(r.expires <= now() + 20);

  const audits = extendAudits().filter((a) => a.detail.startsWith('registration'));
  assert.deepEqual(audits.filter((a) => a.result === 'ok').map((a) => a.detail),
    Array.from({ length: EXTENSIONS_MAX }, (_, i) => `registration ${phone.registrationId}: ${i + 1}/10`));
  assert.deepEqual(audits.filter((a) => a.result === 'limit').length, 1);
  assert.ok(extendAudits().some((a) => a.result === 'ok' && a.detail === 'visit: 1/10'));

  // After the last extension the code still ends: the page and the app say so.
  sql(`UPDATE sid_registrations SET expires = ${now() - 1} WHERE id = '${phone.registrationId}'`);
  p = await get(agent, 'confirm');
  assert.equal(p.status, 410);
  assert.equal(h1(p.html), 'This registration has expired');
  assert.match(p.html, /Start again in the Smart-ID app\./);
  res = await post(agent, 'confirm', more);
  assert.equal(res.status, 410);
  assert.equal((await phone.status()).status, 410);
});

test('wrong codes: at most code_wrong_max over the code\'s whole life, across visits and extensions', async () => {
  const phone = await new SmartIdPhone(server).init();
  assert.equal((await phone.register({ deviceName: 'Tablet' })).status, 201);
  const id = phone.registrationId;
  // Visit 1 types the code with more time: matched, extended.
  const first = await onCodePage(ELS);
  sql(`UPDATE sid_registrations SET expires = ${now() + 20} WHERE id = '${id}'`);
  let res = await post(first, 'code', { ...hiddenInputs((await get(first, 'code')).html), code: phone.code,
    more: '1' });
  assert.equal(where(res).searchParams.get('more'), '1');
  assert.equal(reg(id).extended, 1);
  // A right code is no wrong try for its own registration.
  assert.equal(reg(id).code_wrong, 0);
  // Visits 2 and 3 type wrong codes, three at once each (code_tries 5):
  // six tries, the code counts four and no more.
  const wrong = phone.code.startsWith('2') ? '3' + phone.code.slice(1) : '2' + phone.code.slice(1);
  for (const person of [JAN, ELS]) {
    const agent = await onCodePage(person);
    const form = hiddenInputs((await get(agent, 'code')).html);
    const answers = await Promise.all([0, 1, 2].map(() => post(agent, 'code', { ...form, code: wrong })));
    assert.deepEqual(answers.map((a) => a.status), [400, 400, 400]);
    if (person === ELS) {
      // The right code now: the code is dead, the page says what to do.
      res = await post(agent, 'code', { ...form, code: phone.code });
      assert.equal(res.status, 400);
      const html = await res.text();
      assert.match(html, /This registration code no longer works: too many wrong codes were typed for it\. Start the registration again in the Smart-ID app and type the new code it shows\./);
    }
  }
  const r = reg(id);
  assert.equal(r.code_wrong, WRONG_MAX);
  assert.equal(r.status, 'code');
  // Dead for the visit that had matched it (no confirm, no more time) and
  // for the app.
  assert.equal((await get(first, 'confirm')).status, 410);
  const st = await phone.status();
  assert.equal(st.status, 410);
  assert.equal(st.body.error, 'registration_expired');
  const dead = sqlRows(server, "SELECT result FROM audit WHERE event = 'smartid.portal' AND result = 'dead_code'");
  assert.equal(dead.length, 1);
});

test('with the shortest lifetime (60 s, under the warning\'s 2 minutes) a press still adds time', async () => {
  const short = await startServer({ demo: true, config: { smartid: { key_bits: 1024, registration_lifetime: 60 } } });
  try {
    const phone = await new SmartIdPhone(short).init();
    assert.equal((await phone.register({ deviceName: 'Pixel' })).status, 201);
    const agent = new Agent();
    await portalEidLogin(short, agent, await issueCard(short.pkiDir, dir, JAN));
    assert.equal((await portalSteps(short, agent, phone.code, { stopAt: 'confirm', lang: 'en' })).status, 303);
    const html = await (await agent.get(`${short.base}${PORTAL}/confirm?lang=en`)).text();
    const form = { ...hiddenInputs(html.slice(html.indexOf('class="timelimit-more"'))), more: '1' };
    dbSql(short, `UPDATE sid_registrations SET expires = ${now() + 10} WHERE id = '${phone.registrationId}'`);
    const t = now();
    const res = await agent.post(`${short.base}${PORTAL}/confirm`, form);
    assert.equal(res.status, 303);
    assert.equal(where(res).searchParams.get('more'), '1');
    const [r] = sqlRows(short, `SELECT expires, extended FROM sid_registrations WHERE id = '${phone.registrationId}'`);
    assert.equal(r.extended, 1);
    assert.ok(r.expires >= t + 60 && r.expires <= now() + 60, `${r.expires - t}`);
  } finally {
    await short.stop();
  }
});

test('codes typed per person and per address: charged before the code is tested, 429 past the limit, until the window ends', async () => {
  const PERSON = 3; // [smartid] code_wrong_person
  const IP = 8; // [smartid] code_wrong_ip
  const WINDOW = 4; // [smartid] code_wrong_window, seconds
  const LUC = { given: 'Luc', family: 'Janssens', rrn: '78041212319' };
  const s = await startServer({ demo: true, config: { smartid: { key_bits: 1024, rate_ip: 1000,
    code_wrong_person: PERSON, code_wrong_ip: IP, code_wrong_window: WINDOW } } });
  try {
    const phone = await new SmartIdPhone(s).init();
    assert.equal((await phone.register({ deviceName: 'Pixel' })).status, 201);
    const wrong = phone.code.startsWith('2') ? '3' + phone.code.slice(1) : '2' + phone.code.slice(1);
    const onCode = async (person) => {
      const agent = new Agent();
      await portalEidLogin(s, agent, await issueCard(s.pkiDir, dir, person));
      await portalSteps(s, agent, null, { stopAt: 'code', lang: 'en' });
      const html = await (await agent.get(`${s.base}${PORTAL}/code?lang=en`)).text();
      return { agent, form: hiddenInputs(html) };
    };
    const type = async (who, code, lang = 'en') => {
      const res = await who.agent.post(`${s.base}${PORTAL}/code`, { ...who.form, lang, code });
      return { status: res.status, html: await res.text(), res };
    };
    const codeWrong = () => sqlRows(s, `SELECT code_wrong FROM sid_registrations WHERE id = '${phone.registrationId}'`)[0].code_wrong;
    const tries = (who) => {
      const id = crypto.createHash('sha256').update(who.agent.cookies.get('__Host-sl_sidreg')).digest('hex');
      return sqlRows(s, `SELECT code_tries FROM sid_visits WHERE id = '${id}'`)[0].code_tries;
    };
    const personId = (p) => sqlRows(s, `SELECT id FROM persons WHERE rrn = '${p.rrn}'`)[0].id;
    const notRight = /This registration code is not right, or it has expired\./;
    const limited = /<p>You typed too many wrong registration codes\. For your safety, no more codes are checked for a while\. Try again in 2 minutes\.<\/p>/;
    const jan = await onCode(JAN);
    const els = await onCode(ELS);
    const luc = await onCode(LUC);

    // The window starts at Jan's first code.
    const t0 = Date.now();
    for (let n = 1; n <= PERSON; n++) {
      const r = await type(jan, wrong);
      assert.equal(r.status, 400, `wrong code ${n}`);
      assert.match(r.html, notRight);
    }
    let r = await type(jan, wrong);
    assert.equal(r.status, 429);
    assert.equal(r.res.headers.get('retry-after'), String(WINDOW));
    assert.equal(h1(r.html), 'Too many wrong codes');
    assert.match(r.html, limited);
    // The right code too, untested (and the page in Dutch).
    r = await type(jan, phone.code, 'nl');
    assert.equal(r.status, 429);
    assert.equal(h1(r.html), 'Te veel foute codes');
    assert.match(r.html, /Je hebt te veel verkeerde registratiecodes ingetypt\. Voor je veiligheid wordt er een tijdlang geen code meer gecontroleerd\. Probeer het over 2 minuten opnieuw\./);
    // Nothing of the refused tries was tested or counted: not against the
    // live code, not on the visit.
    assert.equal(codeWrong(), PERSON);
    assert.equal(tries(jan), PERSON);

    // Another person is not affected; five of hers at once, with two left,
    // test two codes and no more.
    r = await type(els, wrong);
    assert.equal(r.status, 400);
    assert.match(r.html, notRight);
    const burst = await Promise.all([1, 2, 3, 4, 5].map(() => type(els, wrong)));
    assert.deepEqual(burst.map((x) => x.status).sort(), [400, 400, 429, 429, 429]);
    assert.equal(codeWrong(), 2 * PERSON);
    assert.equal(tries(els), PERSON);

    // The address: 6 of its 8 counted; a third person's 2 are tested, the
    // next is refused for the address.
    for (let n = 1; n <= IP - 2 * PERSON; n++)
      assert.equal((await type(luc, wrong)).status, 400);
    r = await type(luc, wrong);
    assert.equal(r.status, 429);
    assert.match(r.html, /<p>Too many wrong registration codes were typed from your internet connection\. For your safety, no more codes are checked for a while\. Try again in 2 minutes\.<\/p>/);
    assert.equal(codeWrong(), IP);
    assert.ok(Date.now() - t0 < WINDOW * 1000, `the tries took ${Date.now() - t0} ms, more than the window`);

    // Audited with the person, never the code; the limits' keys hold the
    // person's stored id, not the national number.
    const audits = sqlRows(s, "SELECT person_id, detail FROM audit WHERE event = 'smartid.portal' AND result = 'code_limit' ORDER BY seq");
    assert.deepEqual(audits.map((a) => a.person_id),
      [personId(JAN), personId(JAN), personId(ELS), personId(ELS), personId(ELS), personId(LUC)]);
    assert.deepEqual([...new Set(audits.map((a) => a.detail))].sort(),
      ['[smartid] code_wrong_ip reached', '[smartid] code_wrong_person reached']);
    const all = JSON.stringify(sqlRows(s, "SELECT * FROM audit")) + JSON.stringify(sqlRows(s, 'SELECT key FROM rate_limits'));
    for (const secret of [phone.code, phone.code.replace('-', ''), wrong.replace('-', ''), JAN.rrn, ELS.rrn, LUC.rrn])
      assert.ok(!all.includes(secret), `${secret} in the audit or a limit's key`);
    assert.deepEqual(sqlRows(s, `SELECT count FROM rate_limits WHERE key = 'sw:${personId(JAN)}'`), [{ count: PERSON }]);

    // Once the window is over the right code goes through.
    const end = (Math.floor(t0 / 1000) + WINDOW + 1) * 1000;
    await new Promise((done) => setTimeout(done, Math.max(0, end - Date.now())));
    r = await type(jan, phone.code);
    assert.equal(r.status, 303);
    assert.equal(where(r.res).pathname, `${PORTAL}/confirm`);
    assert.equal(codeWrong(), IP);
  } finally {
    await s.stop();
  }
});
