// bank.mjs — the demo bank: an OpenID provider (the certified npm
// `oidc-provider`) that sleutel uses for identity proofing, as a real
// bank's "log in with your bank" would be.
//
// One static client (sleutel), PKCE required, code flow only; accounts
// whose claims carry a Belgian national register number (`rrn`), names
// and a birth date; its own small login page (account id and password,
// and a cancel button that answers access_denied), plain HTML forms, so a
// browser and a test with fetch and cookies can both drive it.
//
//   node demo/bank.mjs --port 0 --client-id sleutel --client-secret S \
//     --redirect-uri https://127.0.0.1:8443/proofing/bank/callback
//
// prints {"issuer": ..., "port": ...} on one line once it listens.
// Client id and secret may also come from BANK_CLIENT_ID and
// BANK_CLIENT_SECRET.  It listens on 127.0.0.1 only (http: a bank issuer
// on loopback is the one place sleutel accepts plain HTTP).
import http from 'node:http';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { default: Provider } = await import(
  pathToFileURL(path.join(root, 'tests/node_modules/oidc-provider/lib/index.js')).href);

// Demo people (numbers from shared/vectors/rrn.tsv). Password: "demo".
export const ACCOUNTS = {
  jan: { password: 'demo', claims: { rrn: '85073003328', given_name: 'Jan', family_name: 'Peeters', birthdate: '1985-07-30' } },
  els: { password: 'demo', claims: { rrn: '90020199704', given_name: 'Els', family_name: 'Maes', birthdate: '1990-02-01' } },
  zoe: { password: 'demo', claims: { rrn: '15030112318', given_name: 'Zoë', family_name: 'Van den Bossche', birthdate: '2015-03-01' } },
  // A customer the bank never identified with a national number.
  anon: { password: 'demo', claims: { given_name: 'Alex', family_name: 'Zonder Nummer' } },
};

const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(title, body) {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>${esc(title)}</title>
<style>body{font-family:system-ui,sans-serif;margin:0;color:#1b1b1b}header{background:#14532d;color:#fff;padding:1rem 1.5rem}
main{max-width:28rem;margin:2rem auto;padding:0 1.5rem}label{display:block;margin:.8rem 0 .2rem}
input{font:inherit;padding:.4rem;width:100%;box-sizing:border-box}button{font:inherit;margin:1rem .5rem 0 0;padding:.6rem 1.2rem;
border:0;border-radius:.3rem;background:#14532d;color:#fff}button.secondary{background:#6b7280}.error{color:#b91c1c}</style>
</head><body><header><strong>Demo Bank</strong> — log in</header><main>${body}</main></body></html>`;
}

function loginForm(uid, clientName, error) {
  return page('Demo Bank', `<h1>Log in to Demo Bank</h1>
<p>${esc(clientName)} asks to confirm who you are.</p>
${error ? `<p class="error" role="alert">${esc(error)}</p>` : ''}
<form method="post" action="/interaction/${esc(uid)}/login">
<label for="account">Customer number</label><input id="account" name="account" autocomplete="username" required>
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit" name="action" value="login">Log in</button>
<button type="submit" name="action" value="cancel" class="secondary" formnovalidate>Cancel</button>
</form>
<p>Demo customers: ${Object.keys(ACCOUNTS).map(esc).join(', ')} (password: demo).</p>`);
}

async function readForm(req, max = 8192) {
  let body = '';
  for await (const chunk of req) {
    body += chunk;
    if (body.length > max) throw new Error('form too large');
  }
  return Object.fromEntries(new URLSearchParams(body));
}

// The key comes out of the generator as a JWK: on Node 20, exporting a
// generated KeyObject as a JWK (privateKey.export({ format: 'jwk' })) can
// deadlock the process for good, when a garbage collection during the
// export destroys the finished generation job, whose destructor takes the
// key's mutex the export holds (tests/integration/keygen.test.mjs).
export function signingKey(alg) {
  const jwk = { privateKeyEncoding: { format: 'jwk' }, publicKeyEncoding: { format: 'jwk' } };
  const { privateKey } = alg === 'ES256'
    ? generateKeyPairSync('ec', { namedCurve: 'P-256', ...jwk })
    : generateKeyPairSync('rsa', { modulusLength: 2048, ...jwk });
  return { ...privateKey, alg, use: 'sig', kid: randomBytes(8).toString('base64url') };
}

// Start a bank. Options: port (0: a free one), clientId, clientSecret,
// redirectUri, alg (RS256, PS256 or ES256), accounts, idTokenClaims (true:
// the person's claims are in the ID token; false: only at userinfo).
// Returns { issuer, port, clientId, clientSecret, provider, accounts,
// tamperIdToken (set to a function to change ID tokens on their way out),
// rotateKeys(), close() }.
export async function startBank(opts = {}) {
  const clientId = opts.clientId || process.env.BANK_CLIENT_ID || 'sleutel';
  const clientSecret = opts.clientSecret || process.env.BANK_CLIENT_SECRET || randomBytes(24).toString('base64url');
  const alg = opts.alg || 'RS256';
  const accounts = opts.accounts || ACCOUNTS;
  const server = http.createServer();
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port || 0, '127.0.0.1', resolve);
  });
  const { port } = server.address();
  const issuer = `http://127.0.0.1:${port}`;
  const bank = { issuer, port, clientId, clientSecret, accounts, tamperIdToken: null, server,
    redirectUri: opts.redirectUri || 'https://127.0.0.1/proofing/bank/callback' };
  let keys = [signingKey(alg)];

  const makeProvider = () => {
    const provider = new Provider(issuer, {
      clients: [{
        client_id: clientId,
        client_secret: clientSecret,
        client_name: 'sleutel',
        redirect_uris: [bank.redirectUri],
        grant_types: ['authorization_code'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
        id_token_signed_response_alg: alg,
      }],
      jwks: { keys },
      pkce: { required: () => true },
      ttl: { Interaction: 600, Session: 3600, Grant: 3600, AccessToken: 300, AuthorizationCode: 60, IdToken: 300 },
      scopes: ['openid', 'profile', 'rrn'],
      claims: { openid: ['sub'], profile: ['given_name', 'family_name', 'birthdate'], rrn: ['rrn'] },
      conformIdTokenClaims: opts.idTokenClaims === false,
      features: { devInteractions: { enabled: false } },
      cookies: { keys: [randomBytes(32).toString('base64url')] },
      interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
      async findAccount(ctx, id) {
        if (!accounts[id]) return undefined;
        return { accountId: id, claims: async () => ({ sub: id, ...accounts[id].claims }) };
      },
      // The bank's own app: no consent screen for it.
      async loadExistingGrant(ctx) {
        const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
        if (grantId) return ctx.oidc.provider.Grant.find(grantId);
        const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
        grant.addOIDCScope('openid profile rrn');
        await grant.save();
        return grant;
      },
    });
    provider.use(async (ctx, next) => {
      await next();
      if (ctx.path === '/token' && bank.tamperIdToken && ctx.body && typeof ctx.body.id_token === 'string') {
        ctx.body = { ...ctx.body, id_token: bank.tamperIdToken(ctx.body.id_token) };
      }
    });
    provider.on('server_error', (ctx, err) => console.error('bank: server error', err));
    return provider;
  };
  let provider = makeProvider();
  bank.provider = provider;

  server.on('request', async (req, res) => {
    try {
      const m = /^\/interaction\/([A-Za-z0-9_-]+)(\/login)?$/.exec(req.url.split('?')[0]);
      if (!m) return provider.callback()(req, res);
      const details = await provider.interactionDetails(req, res);
      const client = await provider.Client.find(details.params.client_id);
      if (req.method === 'GET' && !m[2]) {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        return res.end(loginForm(details.uid, client?.clientName || 'A site'));
      }
      if (req.method !== 'POST' || !m[2]) {
        res.writeHead(405);
        return res.end();
      }
      const form = await readForm(req);
      if (form.action === 'cancel') {
        return provider.interactionFinished(req, res,
          { error: 'access_denied', error_description: 'The customer cancelled' }, { mergeWithLastSubmission: false });
      }
      const account = accounts[form.account];
      if (!account || form.password !== account.password) {
        res.writeHead(401, { 'content-type': 'text/html; charset=utf-8' });
        return res.end(loginForm(details.uid, client?.clientName || 'A site', 'Unknown customer number or wrong password.'));
      }
      return provider.interactionFinished(req, res, { login: { accountId: form.account } },
        { mergeWithLastSubmission: false });
    } catch (err) {
      res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(`Demo Bank: ${err.message}\n`);
    }
  });

  // New signing keys (the bank rotates): the old ones are dropped at once.
  bank.rotateKeys = () => {
    keys = [signingKey(alg)];
    provider = makeProvider();
    bank.provider = provider;
  };
  // Register sleutel's callback once its port is known.
  bank.setRedirectUri = (uri) => {
    bank.redirectUri = uri;
    provider = makeProvider();
    bank.provider = provider;
  };
  bank.close = () => new Promise((resolve) => {
    server.closeAllConnections?.();
    server.close(() => resolve());
  });
  return bank;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => {
    if (a.startsWith('--')) acc.push([a.slice(2), all[i + 1]]);
    return acc;
  }, []));
  const bank = await startBank({
    port: Number(args.port || 0),
    clientId: args['client-id'],
    clientSecret: args['client-secret'],
    redirectUri: args['redirect-uri'],
    alg: args.alg,
  });
  console.log(JSON.stringify({ issuer: bank.issuer, port: bank.port, client_id: bank.clientId,
    client_secret: args['client-secret'] || process.env.BANK_CLIENT_SECRET ? undefined : bank.clientSecret }));
  const stop = () => bank.close().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
