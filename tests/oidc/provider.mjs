// Test OpenID Provider for hemtid's integration and browser tests.
//
// A real, certified OpenID Connect provider (panva's `oidc-provider`) playing
// the municipality's eID. Any login is accepted; which persons hemtid knows is
// hemtid's business.
//
// Usage:  node tests/oidc/provider.mjs <config.json>
// (run `npm ci --prefix tests/oidc` first). See tests/oidc/README.md.
//
// stdout carries exactly one line, `listening <issuer>`; everything else
// (including oidc-provider's own notices) goes to stderr.

import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';

import Provider, { interactionPolicy } from 'oidc-provider';

// oidc-provider prints "NOTICE" lines with console.info (stdout). Keep stdout
// clean for the `listening` handshake line.
console.log = (...args) => console.error(...args);
console.info = (...args) => console.error(...args);

const configPath = process.argv[2];
if (!configPath) {
  console.error('usage: node provider.mjs <config.json>');
  process.exit(2);
}

const config = JSON.parse(readFileSync(configPath, 'utf8'));
const host = config.host ?? '127.0.0.1';
const port = config.port ?? 0;
const idTokenTtl = config.id_token_ttl ?? 600;
const extraClaims = config.claims ?? {};

// Every claim that may appear in config is released with the `openid` scope
// alone (and, with conformIdTokenClaims: false, put in the ID token).
const claimNames = new Set([
  'sub', 'name', 'given_name', 'family_name', 'email', 'email_verified',
  'hsa_id', 'employee_number',
]);
for (const claims of Object.values(extraClaims)) {
  for (const name of Object.keys(claims ?? {})) claimNames.add(name);
}

function signingKeys() {
  if (config.jwks) return config.jwks;
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = privateKey.export({ format: 'jwk' });
  return { keys: [{ ...jwk, kid: randomUUID(), alg: 'RS256', use: 'sig' }] };
}

function clients() {
  return (config.clients ?? []).map((c) => ({
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
    // Any other registered client metadata (e.g. application_type: 'native'
    // for private-use URI scheme redirects, post_logout_redirect_uris) is
    // passed through as given.
    ...c,
  }));
}

const escapeHtml = (s) => String(s).replace(/[&<>"']/g, (ch) => ({
  '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;',
}[ch]));

function page(title, body) {
  return `<!DOCTYPE html>
<html lang="sv">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>
body{font-family:system-ui,sans-serif;margin:2rem;line-height:1.5;color:#111;background:#fff}
main{max-width:24rem}
label{display:block;font-weight:600;margin-bottom:.25rem}
input{font-size:1rem;padding:.5rem;width:100%;box-sizing:border-box;border:1px solid #555}
button{margin-top:1rem;font-size:1rem;padding:.5rem 1.25rem}
.fel{color:#a00000;font-weight:600}
</style>
</head>
<body>
<main>
${body}
</main>
</body>
</html>
`;
}

function loginPage(uid, { error, login = '' } = {}) {
  const errorHtml = error
    ? `<p class="fel" id="login-fel" role="alert">${escapeHtml(error)}</p>\n`
    : '';
  const describedBy = error ? ' aria-describedby="login-fel" aria-invalid="true"' : '';
  return page('Logga in – testidentitetsleverantör', `<h1>Logga in</h1>
<p>Testidentitetsleverantör för hemtid. Alla användarnamn godtas.</p>
${errorHtml}<form method="post" action="/interaction/${encodeURIComponent(uid)}/login">
<label for="login">Användarnamn</label>
<input id="login" name="login" type="text" autocomplete="username" autocapitalize="none" spellcheck="false" value="${escapeHtml(login)}"${describedBy}>
<button type="submit">Logga in</button>
</form>`);
}

function send(res, status, html) {
  res.statusCode = status;
  res.setHeader('Content-Type', 'text/html; charset=utf-8');
  res.setHeader('Cache-Control', 'no-store');
  res.end(html);
}

function readForm(req) {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks = [];
    req.on('data', (chunk) => {
      size += chunk.length;
      if (size > 64 * 1024) {
        reject(new Error('request body too large'));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(new URLSearchParams(Buffer.concat(chunks).toString('utf8'))));
    req.on('error', reject);
  });
}

// Login prompt: besides the default checks, re-authenticate when the
// authorization request's login_hint names someone other than the current
// session's user (so one browser/cookie jar can log in as several people).
const policy = interactionPolicy.base();
policy.get('login').checks.add(new interactionPolicy.Check(
  'login_hint_mismatch',
  'login_hint does not match the authenticated End-User',
  (ctx) => {
    const hint = ctx.oidc.params.login_hint;
    const current = ctx.oidc.session.accountId;
    if (hint && current && hint !== current && !ctx.oidc.result?.login) {
      return interactionPolicy.Check.REQUEST_PROMPT;
    }
    return interactionPolicy.Check.NO_NEED_TO_PROMPT;
  },
));

function providerConfiguration() {
  return {
    clients: clients(),
    jwks: signingKeys(),
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    responseTypes: ['code'],
    pkce: { required: () => true }, // oidc-provider only implements S256
    conformIdTokenClaims: false,
    claims: {
      acr: null,
      sid: null,
      auth_time: null,
      iss: null,
      openid: [...claimNames],
      profile: ['name', 'given_name', 'family_name'],
      email: ['email', 'email_verified'],
    },
    scopes: ['openid', 'offline_access', 'profile', 'email'],
    features: {
      devInteractions: { enabled: false },
    },
    interactions: {
      policy,
      url: (ctx, interaction) => `/interaction/${interaction.uid}`,
    },
    ttl: {
      AccessToken: 3600,
      AuthorizationCode: 60,
      IdToken: idTokenTtl,
      Interaction: 3600,
      Session: 14 * 24 * 3600,
      Grant: 14 * 24 * 3600,
      RefreshToken: 24 * 3600,
      ClientCredentials: 600,
    },
    clientBasedCORS: () => false,
    // Consent lives on the session only; there is no stored account model.
    async loadExistingGrant(ctx) {
      const grantId = ctx.oidc.result?.consent?.grantId
        || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
      return grantId ? ctx.oidc.provider.Grant.find(grantId) : undefined;
    },
    async findAccount(ctx, sub) {
      return {
        accountId: sub,
        async claims() {
          return { ...(extraClaims[sub] ?? {}), sub };
        },
      };
    },
    async renderError(ctx, out) {
      ctx.type = 'html';
      ctx.body = page('Fel – testidentitetsleverantör', `<h1>Något gick fel</h1>
${Object.entries(out).map(([k, v]) => `<p><strong>${escapeHtml(k)}</strong>: ${escapeHtml(v)}</p>`).join('\n')}`);
    },
  };
}

// Finishes login and consent in one go: the account is `login`, and every
// requested scope and claim is granted.
async function finish(provider, req, res, details, login) {
  // If the browser already has a session for someone else, drop it instead of
  // letting oidc-provider show its "sign out first" page.
  if (details.session?.uid && details.session.accountId !== login) {
    const old = await provider.Session.findByUid(details.session.uid);
    delete details.session;
    await details.save(details.exp - Math.floor(Date.now() / 1000));
    if (old) await old.destroy();
  }

  const { params } = details;
  let grant;
  if (details.grantId) grant = await provider.Grant.find(details.grantId);
  if (!grant || grant.accountId !== login) {
    grant = new provider.Grant({ accountId: login, clientId: params.client_id });
  }
  if (params.scope) grant.addOIDCScope(params.scope);
  if (params.claims) {
    try {
      const requested = JSON.parse(params.claims);
      const names = new Set([
        ...Object.keys(requested.id_token ?? {}),
        ...Object.keys(requested.userinfo ?? {}),
      ]);
      if (names.size) grant.addOIDCClaims([...names]);
    } catch {
      // malformed claims parameter is rejected by the provider itself
    }
  }
  const missingResourceScopes = details.prompt?.details?.missingResourceScopes ?? {};
  for (const [indicator, scopes] of Object.entries(missingResourceScopes)) {
    grant.addResourceScope(indicator, scopes.join(' '));
  }
  const grantId = await grant.save();

  await provider.interactionFinished(req, res, {
    login: { accountId: login },
    consent: { grantId },
  }, { mergeWithLastSubmission: false });
}

async function handleInteraction(provider, req, res, uid, action) {
  let details;
  try {
    details = await provider.interactionDetails(req, res);
  } catch (err) {
    send(res, 400, page('Fel – testidentitetsleverantör',
      `<h1>Inloggningen har gått ut</h1>\n<p>${escapeHtml(err.error_description ?? err.message)}</p>`));
    return;
  }
  if (details.uid !== uid) {
    send(res, 400, page('Fel – testidentitetsleverantör',
      '<h1>Felaktig inloggningssession</h1>'));
    return;
  }

  if (action === undefined && req.method === 'GET') {
    const hint = details.params.login_hint;
    if (typeof hint === 'string' && hint.trim() !== '') {
      await finish(provider, req, res, details, hint.trim());
    } else {
      send(res, 200, loginPage(uid));
    }
    return;
  }

  if (action === 'login' && req.method === 'POST') {
    const form = await readForm(req);
    const login = (form.get('login') ?? '').trim();
    if (login === '') {
      send(res, 400, loginPage(uid, { error: 'Fyll i ditt användarnamn.' }));
      return;
    }
    await finish(provider, req, res, details, login);
    return;
  }

  res.statusCode = 405;
  res.setHeader('Allow', action === undefined ? 'GET' : 'POST');
  res.end();
}

const server = http.createServer();
// keep-alive connections must not delay shutdown
server.keepAliveTimeout = 1000;

server.listen(port, host, async () => {
  const actual = server.address().port;
  const issuer = config.issuer ?? `http://${host.includes(':') ? `[${host}]` : host}:${actual}`;
  const provider = new Provider(issuer, providerConfiguration());

  // oidc-provider validates static clients lazily (on first use); fail fast
  // instead, e.g. for a private-use scheme redirect on a non-native client.
  for (const { client_id: clientId } of config.clients ?? []) {
    try {
      if (!await provider.Client.find(clientId)) throw new Error('not found');
    } catch (err) {
      console.error(`invalid client ${clientId}: ${err.error_description ?? err.message}`);
      process.exit(1);
    }
  }
  provider.on('server_error', (ctx, err) => console.error('server_error', err));
  const callback = provider.callback();

  server.on('request', (req, res) => {
    const { pathname } = new URL(req.url, 'http://x');
    const m = /^\/interaction\/([^/]+)(?:\/(login))?$/.exec(pathname);
    if (!m) {
      callback(req, res);
      return;
    }
    handleInteraction(provider, req, res, decodeURIComponent(m[1]), m[2]).catch((err) => {
      console.error('interaction error', err);
      if (!res.headersSent) {
        send(res, 500, page('Fel – testidentitetsleverantör', '<h1>Internt fel</h1>'));
      } else {
        res.end();
      }
    });
  });

  process.stdout.write(`listening ${issuer}\n`);
});

server.on('error', (err) => {
  console.error(err);
  process.exit(1);
});

function shutdown() {
  server.close(() => process.exit(0));
  server.closeAllConnections();
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
