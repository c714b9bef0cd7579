// Self-test of tests/browser/lib/harness.mjs: exercises every helper without
// the veille app (a static page, a stand-in server binary, the SMTP sink).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

import {
  OUT_DIR,
  checkAxe,
  freePort,
  launchBrowser,
  newDesktopPage,
  newPhonePage,
  startServer,
  startSmtpSink,
  totp,
} from './lib/harness.mjs';

const CLEAN = `<!doctype html>
<html lang="fr"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Veille — test du harnais</title></head>
<body><header><p>Harnais</p></header>
<main><h1>Page propre</h1>
<p style="color:#222;background:#fff">Texte lisible, bien contrasté.</p>
<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" alt="Point" width="1" height="1">
</main></body></html>`;

const BAD = `<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><title>Page fautive</title></head>
<body><main><h1>Page fautive</h1>
<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" width="1" height="1">
<p style="color:#c8c8c8;background:#ffffff">Texte presque invisible.</p>
</main></body></html>`;

let browser;
let site;
let siteURL;

before(async () => {
  browser = await launchBrowser();
  site = http.createServer((req, res) => {
    const body = req.url === '/bad' ? BAD : req.url === '/' ? CLEAN : null;
    if (body === null) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(body);
  });
  const port = await freePort();
  await new Promise((r) => site.listen(port, '127.0.0.1', r));
  siteURL = `http://127.0.0.1:${port}`;
});

after(async () => {
  await browser?.close();
  await new Promise((r) => (site ? site.close(r) : r()));
});

test('phone page: title, viewport, locale, timezone', async () => {
  const page = await newPhonePage(browser, siteURL);
  try {
    await page.goto('/');
    assert.equal(await page.title(), 'Veille — test du harnais');
    assert.deepEqual(page.viewportSize(), { width: 360, height: 740 });
    const env = await page.evaluate(() => ({
      lang: navigator.language,
      tz: Intl.DateTimeFormat().resolvedOptions().timeZone,
    }));
    assert.equal(env.lang, 'fr-FR');
    assert.equal(env.tz, 'Europe/Paris');
  } finally {
    await page.context().close();
  }
});

test('desktop page is 1280x800', async () => {
  const page = await newDesktopPage(browser, siteURL);
  try {
    await page.goto('/');
    assert.deepEqual(
      await page.evaluate(() => [window.innerWidth, window.innerHeight]),
      [1280, 800],
    );
  } finally {
    await page.context().close();
  }
});

test('checkAxe passes a clean page and throws on serious violations', async () => {
  const page = await newPhonePage(browser, siteURL);
  try {
    await page.goto('/');
    const results = await checkAxe(page, 'smoke-clean');
    assert.ok(results.passes.length > 0, 'axe ran rules');

    await page.goto('/bad');
    const label = 'smoke-bad';
    const shot = path.join(OUT_DIR, `${label}.png`);
    await rm(shot, { force: true });
    await assert.rejects(checkAxe(page, label), (err) => {
      assert.match(err.message, /image-alt/);
      assert.match(err.message, /color-contrast/);
      assert.match(err.message, /smoke-bad\.png/);
      const ids = err.violations.map((v) => v.id);
      assert.ok(ids.includes('image-alt') && ids.includes('color-contrast'), ids.join(','));
      return true;
    });
    assert.ok(existsSync(shot), `screenshot saved at ${shot}`);
    const png = await readFile(shot);
    assert.equal(png.subarray(1, 4).toString(), 'PNG');
    await rm(shot, { force: true });
  } finally {
    await page.context().close();
  }
});

// RFC 6238 TOTP (SHA1, 30 s, 6 digits) written out independently of otpauth.
function referenceTotp(base32, now = Date.now()) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of base32.replace(/=+$/, '')) bits += alphabet.indexOf(c).toString(2).padStart(5, '0');
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(now / 1000 / 30)));
  const h = createHmac('sha1', key).update(counter).digest();
  const o = h[h.length - 1] & 0xf;
  return String((h.readUInt32BE(o) & 0x7fffffff) % 1_000_000).padStart(6, '0');
}

test('totp matches an independent RFC 6238 computation', () => {
  const secret = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';
  for (let i = 0; i < 3; i++) {
    const before = referenceTotp(secret);
    const code = totp(secret);
    const afterCode = referenceTotp(secret);
    assert.match(code, /^\d{6}$/);
    if (before === afterCode) {
      assert.equal(code, before);
      return;
    }
  }
  assert.fail('30 s window kept changing');
});

// A stand-in for target/debug/veille: answers /readyz after a short delay and
// echoes its environment at /env.
const FAKE_SERVER = `#!${process.execPath}
const http = require('node:http');
const fs = require('node:fs');
const args = process.argv.slice(2);
if (args[0] !== 'serve' || args[1] !== '--bind') { console.error('bad args', args); process.exit(2); }
if (process.env.FAKE_FAIL) { console.error('fake failure: ' + process.env.FAKE_FAIL); process.exit(3); }
const [host, port] = args[2].split(':');
const dbFile = (process.env.DATABASE_URL || '').replace(/^sqlite:\\/\\//, '');
let ready = false;
setTimeout(() => { ready = true; }, 300);
http.createServer((req, res) => {
  if (req.url === '/readyz') { res.writeHead(ready ? 200 : 503).end(ready ? 'ok' : 'starting'); return; }
  if (req.url === '/env') {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({
      DATABASE_URL: process.env.DATABASE_URL, VEILLE_DEMO: process.env.VEILLE_DEMO ?? null,
      EXTRA: process.env.EXTRA ?? null, dbExists: fs.existsSync(dbFile), cwd: process.cwd(),
    }));
    return;
  }
  res.writeHead(404).end();
}).listen(Number(port), host, () => console.log('fake veille listening on ' + args[2]));
process.on('SIGTERM', () => { console.log('fake veille: SIGTERM'); process.exit(0); });
`;

test('startServer runs VEILLE_BIN, waits for /readyz, passes env, stops', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'veille-fake-'));
  const bin = path.join(dir, 'veille');
  await writeFile(bin, FAKE_SERVER);
  await chmod(bin, 0o755);
  const saved = process.env.VEILLE_BIN;
  process.env.VEILLE_BIN = bin;
  t.after(async () => {
    if (saved === undefined) delete process.env.VEILLE_BIN;
    else process.env.VEILLE_BIN = saved;
    await rm(dir, { recursive: true, force: true });
  });

  const server = await startServer({ demo: true, env: { EXTRA: 'x' } });
  let env;
  try {
    assert.match(server.baseURL, /^http:\/\/127\.0\.0\.1:\d+$/);
    env = await (await fetch(`${server.baseURL}/env`)).json();
    assert.match(env.DATABASE_URL, /^sqlite:\/\/\/.*\/veille\.db$/);
    assert.equal(env.dbExists, true);
    assert.equal(env.VEILLE_DEMO, '1');
    assert.equal(env.EXTRA, 'x');
  } finally {
    await server.stop();
  }
  assert.match(server.logs(), /fake veille: SIGTERM/);
  await assert.rejects(fetch(`${server.baseURL}/readyz`));
  assert.equal(existsSync(env.DATABASE_URL.replace('sqlite://', '')), false, 'temp dir removed');

  const plain = await startServer({ databaseUrl: 'postgres://example/db' });
  try {
    const e = await (await fetch(`${plain.baseURL}/env`)).json();
    assert.equal(e.DATABASE_URL, 'postgres://example/db');
    assert.equal(e.VEILLE_DEMO, null);
  } finally {
    await plain.stop();
  }

  await assert.rejects(startServer({ env: { FAKE_FAIL: 'no database' } }), (err) => {
    assert.match(err.message, /exited before it was ready \(exit code 3\)/);
    assert.match(err.message, /fake failure: no database/);
    return true;
  });
});

// Sends one mail with a minimal SMTP client over a raw socket.
function smtpSend({ host, port }, { from, to, data }) {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host, port });
    const script = [
      null, // greeting
      `EHLO smoke.test`,
      `MAIL FROM:<${from}>`,
      `RCPT TO:<${to}>`,
      `DATA`,
      `${data.replace(/\r?\n/g, '\r\n').replace(/^\./gm, '..')}\r\n.`,
      `QUIT`,
    ];
    const expect = [220, 250, 250, 250, 354, 250, 221];
    let step = 0;
    let buf = '';
    sock.setEncoding('utf8');
    sock.setTimeout(10_000, () => sock.destroy(new Error(`SMTP timeout at step ${step}: ${buf}`)));
    sock.on('error', reject);
    sock.on('data', (chunk) => {
      buf += chunk;
      // A reply is complete at a line "NNN text" (not "NNN-text").
      const lines = buf.split('\r\n');
      const last = lines.findIndex((l) => /^\d{3} /.test(l) || /^\d{3}$/.test(l));
      if (last < 0) return;
      const code = Number(lines[last].slice(0, 3));
      buf = lines.slice(last + 1).join('\r\n');
      if (code !== expect[step]) {
        sock.destroy();
        reject(new Error(`SMTP step ${step}: expected ${expect[step]}, got ${lines[last]}`));
        return;
      }
      step += 1;
      if (step < script.length) sock.write(`${script[step]}\r\n`);
      else {
        sock.end();
        resolve();
      }
    });
  });
}

test('SMTP sink receives and decodes a mail', async () => {
  const sink = await startSmtpSink();
  try {
    assert.deepEqual(await sink.messages(), []);
    const data = [
      'From: Veille <noreply@veille.test>',
      'To: Équipe <equipe@veille.test>',
      'Subject: =?utf-8?q?Code_de_connexion_=C3=A0_usage_unique?=',
      'Date: Mon, 23 Nov 2026 13:00:00 +0000',
      'MIME-Version: 1.0',
      'Content-Type: multipart/alternative; boundary="b1"',
      '',
      '--b1',
      'Content-Type: text/plain; charset=utf-8',
      'Content-Transfer-Encoding: quoted-printable',
      '',
      'Bonjour, votre code est 123456. D=C3=A9lai : 10 minutes, =',
      'pas plus.',
      '.Point en t=C3=AAte de ligne.',
      '--b1',
      'Content-Type: text/html; charset=utf-8',
      'Content-Transfer-Encoding: base64',
      '',
      Buffer.from('<p>Bonjour, votre code est <b>123456</b>.</p>').toString('base64'),
      '--b1--',
      '',
    ].join('\n');
    await smtpSend(sink, { from: 'noreply@veille.test', to: 'equipe@veille.test', data });

    const msgs = await sink.messages();
    assert.equal(msgs.length, 1);
    const [m] = msgs;
    assert.equal(m.subject, 'Code de connexion à usage unique');
    assert.equal(m.from, 'Veille <noreply@veille.test>');
    assert.equal(m.to, 'Équipe <equipe@veille.test>');
    assert.equal(m.mailFrom, 'noreply@veille.test');
    assert.deepEqual(m.rcptTo, ['equipe@veille.test']);
    assert.equal(
      m.text.trim(),
      'Bonjour, votre code est 123456. Délai : 10 minutes, pas plus.\n.Point en tête de ligne.',
    );
    assert.equal(m.html, '<p>Bonjour, votre code est <b>123456</b>.</p>');
    const again = await sink.waitForMessage((x) => /123456/.test(x.text), { timeoutMs: 1000 });
    assert.equal(again.subject, m.subject);
  } finally {
    await sink.stop();
  }
});
