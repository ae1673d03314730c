// rp.mjs — the demo relying party, a "Mijn gezondheid"-like health portal.
// It is an ordinary OpenID Connect client built on the certified
// openid-client library: code flow with PKCE, state and nonce, then the
// claims it received, and RP-initiated logout.
//
//   node demo/rp.mjs --issuer URL --client-id ID --client-secret S --port N
//
// The project's npm packages live in tests/ (one lockfile), hence the path.
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const oidc = await import(pathToFileURL(path.join(root, 'tests/node_modules/openid-client/build/index.js')).href);

const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => {
  if (a.startsWith('--')) acc.push([a.slice(2), all[i + 1]]);
  return acc;
}, []));
const port = Number(args.port || 8080);
const base = `http://127.0.0.1:${port}`;
const config = await oidc.discovery(new URL(args.issuer), args['client-id'], args['client-secret'],
  oidc.ClientSecretBasic(args['client-secret']));
const sessions = new Map(); // cookie → { verifier, state, nonce, claims, idToken }

const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const page = (body) => `<!doctype html><html lang="nl"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Mijn gezondheid</title>
<style>body{font-family:system-ui,sans-serif;margin:0;color:#1b1b1b}header{background:#0b4f8a;color:#fff;padding:1rem 1.5rem}
main{max-width:40rem;margin:2rem auto;padding:0 1.5rem}a.button,button{display:inline-block;background:#0b4f8a;color:#fff;
padding:.6rem 1.2rem;border-radius:.3rem;text-decoration:none;border:0;font:inherit}table{border-collapse:collapse}
td,th{border:1px solid #ccc;padding:.4rem .6rem;text-align:left}</style></head>
<body><header><strong>Mijn gezondheid</strong> — demo</header><main>${body}</main></body></html>`;

function session(req, res) {
  const m = /(?:^|;\s*)rp_sid=([A-Za-z0-9_-]+)/.exec(req.headers.cookie || '');
  if (m && sessions.has(m[1])) return sessions.get(m[1]);
  const id = randomBytes(16).toString('base64url');
  const s = {};
  sessions.set(id, s);
  res.setHeader('Set-Cookie', `rp_sid=${id}; Path=/; HttpOnly; SameSite=Lax`);
  return s;
}

async function handle(req, res) {
  const url = new URL(req.url, base);
  const s = session(req, res);
  if (url.pathname === '/login') {
    s.verifier = oidc.randomPKCECodeVerifier();
    s.state = oidc.randomState();
    s.nonce = oidc.randomNonce();
    const to = oidc.buildAuthorizationUrl(config, {
      redirect_uri: `${base}/callback`, scope: 'openid profile eid', state: s.state, nonce: s.nonce,
      code_challenge: await oidc.calculatePKCECodeChallenge(s.verifier), code_challenge_method: 'S256',
      ui_locales: url.searchParams.get('lang') || 'nl',
    });
    res.writeHead(302, { Location: to.href }).end();
  } else if (url.pathname === '/callback') {
    try {
      const tokens = await oidc.authorizationCodeGrant(config, url, {
        pkceCodeVerifier: s.verifier, expectedState: s.state, expectedNonce: s.nonce,
      });
      s.idToken = tokens.id_token;
      s.claims = { ...tokens.claims(), ...(await oidc.fetchUserInfo(config, tokens.access_token, tokens.claims().sub)) };
      res.writeHead(302, { Location: '/' }).end();
    } catch (e) {
      res.writeHead(400, { 'Content-Type': 'text/html; charset=utf-8' })
        .end(page(`<h1>Aanmelden mislukt</h1><p>${esc(e.error || e.message)}: ${esc(e.error_description || '')}</p>
<p><a class="button" href="/">Terug</a></p>`));
    }
  } else if (url.pathname === '/logout') {
    const to = oidc.buildEndSessionUrl(config, { id_token_hint: s.idToken, post_logout_redirect_uri: `${base}/` });
    delete s.claims;
    res.writeHead(302, { Location: to.href }).end();
  } else if (url.pathname === '/') {
    const body = s.claims
      ? `<h1>Welkom, ${esc(s.claims.given_name || '')}</h1><p>sleutel gaf deze gegevens door:</p><table>
${Object.entries(s.claims).map(([k, v]) => `<tr><th scope="row">${esc(k)}</th><td>${esc(JSON.stringify(v))}</td></tr>`).join('\n')}
</table><p><a class="button" href="/logout">Afmelden</a></p>`
      : `<h1>Mijn gezondheid</h1><p>Bekijk je medische gegevens, veilig.</p><p><a class="button" href="/login">Aanmelden</a></p>`;
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(page(body));
  } else {
    res.writeHead(404).end('not found');
  }
}

http.createServer((req, res) => handle(req, res).catch((e) => {
  res.writeHead(500).end(String(e));
})).listen(port, '127.0.0.1', () => console.log(`demo RP "Mijn gezondheid": ${base}/`));
