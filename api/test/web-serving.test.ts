/** The built web client served at / and /assets/{asset} (web/dist), and what / says without a build. */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { brotliDecompressSync } from 'node:zlib';
import { expect } from 'chai';
import { projectRoot } from '@messenger/shared';
import { WEB_DIST, WebClient } from '../src/system/web-client.ts';
import { TestContext } from './support/test-context.ts';

describe('the web client, served by the API', () => {
  let t: TestContext;
  before(async function () {
    this.timeout(120_000);
    execFileSync(process.execPath, ['scripts/build-web.mjs', '--if-stale'], {
      cwd: projectRoot(),
      stdio: 'inherit',
    });
    t = await TestContext.start();
  });
  after(() => t.stop());

  it('serves the page at /, revalidated with its ETag, and the files it loads, cacheable for a year', async () => {
    const page = await fetch(new URL('/', t.baseUrl));
    expect(page.status).to.equal(200);
    expect(page.headers.get('content-type')).to.match(/^text\/html/);
    expect(page.headers.get('cache-control')).to.equal('no-cache');
    const html = await page.text();
    const etag = page.headers.get('etag')!;
    const again = await fetch(new URL('/', t.baseUrl), { headers: { 'If-None-Match': etag } });
    expect(again.status).to.equal(304);

    const scripts = [...html.matchAll(/(?:src|href)="\/assets\/([^"]+)"/g)].map((m) => m[1]!);
    expect(scripts.length).to.be.at.least(2);
    for (const name of scripts) {
      const original = readFileSync(path.join(WEB_DIST, 'assets', name));
      const res = await fetch(new URL(`/assets/${name}`, t.baseUrl), {
        headers: { 'Accept-Encoding': 'br' },
      });
      expect(res.status, name).to.equal(200);
      expect(res.headers.get('cache-control')).to.equal('public, max-age=31536000, immutable');
      expect(Buffer.from(await res.arrayBuffer()).equals(original), name).to.equal(true);
    }
  });

  it('answers 404 not-found for a file the build does not hold (no path traversal)', async () => {
    for (const asset of ['index.html', '..%2Findex.html', '__proto__', 'constructor', 'missing.js']) {
      const res = await t.raw('GET', `/assets/${asset}`);
      expect(res.status, asset).to.equal(404);
      expect(res.json).to.deep.include({ message: 'not-found' });
    }
  });
});

describe('WebClient (web/dist read from disk)', () => {
  let dist: string;
  beforeEach(() => {
    dist = mkdtempSync(path.join(tmpdir(), 'web-dist-'));
  });
  afterEach(() => rmSync(dist, { recursive: true, force: true }));

  it('finds nothing without a build, then the build once it is there', async () => {
    const web = new WebClient(dist);
    expect(await web.page()).to.equal(undefined);
    mkdirSync(path.join(dist, 'assets'));
    writeFileSync(path.join(dist, 'index.html'), '<!doctype html><title>x</title>');
    writeFileSync(path.join(dist, 'assets', 'index-abc.js'), 'console.log(1)');
    writeFileSync(path.join(dist, 'assets', 'notes.txt'), 'not served');
    const page = await web.page();
    expect(page?.type).to.equal('text/html');
    const script = await web.asset('index-abc.js');
    expect(script?.type).to.equal('application/javascript');
    expect(brotliDecompressSync(script!.bodies.br).toString()).to.equal('console.log(1)');
    expect(await web.asset('notes.txt')).to.equal(undefined);
    expect(await web.asset('__proto__')).to.equal(undefined);
  });

  it('serves a rebuild from the next page request on, with the new build’s files', async () => {
    const web = new WebClient(dist);
    mkdirSync(path.join(dist, 'assets'));
    writeFileSync(path.join(dist, 'index.html'), '<script src="/assets/index-old.js"></script>');
    writeFileSync(path.join(dist, 'assets', 'index-old.js'), 'old()');
    const first = await web.page();
    expect(brotliDecompressSync(first!.bodies.br).toString()).to.contain('index-old.js');

    // What Vite's watch mode does on a change: a new page naming new files (written a moment later).
    rmSync(path.join(dist, 'assets', 'index-old.js'));
    writeFileSync(path.join(dist, 'assets', 'index-new.js'), 'updated()');
    writeFileSync(path.join(dist, 'index.html'), '<script src="/assets/index-new.js"></script>');
    utimesSync(path.join(dist, 'index.html'), new Date(), new Date(Date.now() + 5000));
    // A file of the new build is found even before a page request has seen the build.
    const script = await web.asset('index-new.js');
    expect(brotliDecompressSync(script!.bodies.br).toString()).to.equal('updated()');
    const second = await web.page();
    expect(brotliDecompressSync(second!.bodies.br).toString()).to.contain('index-new.js');
    expect(second!.etag).to.not.equal(first!.etag);
    expect(await web.asset('index-old.js')).to.equal(undefined);
  });
});
