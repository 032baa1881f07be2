'use strict';
// Plays the receiving browser for one push message: reads a JSON request on
// stdin, checks the VAPID Authorization header the way a push service does
// (RFC 8292), decrypts the aes128gcm body with the subscription's private key
// and auth secret (RFC 8291, via the independent http_ece implementation) and
// prints a JSON verdict on stdout. It never trusts the Go side's code: only
// node's crypto and http_ece are used.
//
// stdin:  {body: base64, authorization, contentEncoding, receiverPrivateKey:
//          base64url(32 bytes), authSecret: base64url(16 bytes),
//          audience: "scheme://host:port", nowSeconds: number}
// stdout: {ok: true, payload: string, claims: {...}, vapidKey: string}
//      or {ok: false, error: string}

const crypto = require('crypto');
const ece = require('http_ece');

function fail(msg) {
  process.stdout.write(JSON.stringify({ ok: false, error: msg }) + '\n');
  process.exit(0);
}

function parseAuthorization(value) {
  const m = /^vapid\s+(.+)$/i.exec(value || '');
  if (!m) fail('authorization is not a vapid scheme: ' + JSON.stringify(value));
  const params = {};
  for (const part of m[1].split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) fail('malformed vapid parameter: ' + part);
    params[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  if (!params.t || !params.k) fail('vapid header lacks t or k');
  return params;
}

function verifyJWT(token, k, audience, now) {
  const parts = token.split('.');
  if (parts.length !== 3) fail('jwt does not have three parts');
  const header = JSON.parse(Buffer.from(parts[0], 'base64url').toString());
  const claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString());
  if (header.alg !== 'ES256') fail('jwt alg is ' + header.alg);

  const point = Buffer.from(k, 'base64url');
  if (point.length !== 65 || point[0] !== 4) fail('k is not an uncompressed P-256 point');
  const key = crypto.createPublicKey({
    format: 'jwk',
    key: {
      kty: 'EC',
      crv: 'P-256',
      x: point.subarray(1, 33).toString('base64url'),
      y: point.subarray(33, 65).toString('base64url'),
    },
  });
  const ok = crypto.verify(
    'sha256',
    Buffer.from(parts[0] + '.' + parts[1]),
    { key, dsaEncoding: 'ieee-p1363' },
    Buffer.from(parts[2], 'base64url'),
  );
  if (!ok) fail('jwt signature does not verify against k');
  if (claims.aud !== audience) fail('aud ' + claims.aud + ' != ' + audience);
  if (typeof claims.exp !== 'number' || claims.exp <= now) fail('exp not in the future');
  if (claims.exp > now + 24 * 3600) fail('exp more than 24h ahead');
  if (typeof claims.sub !== 'string' || !/^(mailto:|https:)/.test(claims.sub)) {
    fail('sub is not a mailto: or https: URI: ' + claims.sub);
  }
  return claims;
}

let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (c) => { input += c; });
process.stdin.on('end', () => {
  const req = JSON.parse(input);
  if (req.contentEncoding !== 'aes128gcm') fail('content-encoding is ' + req.contentEncoding);
  const vapid = parseAuthorization(req.authorization);
  const claims = verifyJWT(vapid.t, vapid.k, req.audience, req.nowSeconds);

  const receiver = crypto.createECDH('prime256v1');
  receiver.setPrivateKey(Buffer.from(req.receiverPrivateKey, 'base64url'));
  let plain;
  try {
    plain = ece.decrypt(Buffer.from(req.body, 'base64'), {
      version: 'aes128gcm',
      privateKey: receiver,
      authSecret: req.authSecret,
    });
  } catch (e) {
    fail('decrypt: ' + e.message);
  }
  process.stdout.write(JSON.stringify({
    ok: true,
    payload: plain.toString('utf8'),
    claims,
    vapidKey: vapid.k,
  }) + '\n');
});
