// Bundles src/main.ts (with relay/client-js's source and better-auth's
// client) into dist/app.js and copies the static files beside it: dist/ is
// the whole web app, static files for any host. Prints each file's size and
// the gzipped size of what the first load fetches.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { gzipSync } from 'node:zlib';

rmSync('dist', { recursive: true, force: true });
mkdirSync('dist');
await build({
  entryPoints: ['src/main.ts'],
  bundle: true,
  format: 'esm',
  target: 'es2022',
  minify: true,
  sourcemap: true,
  outfile: 'dist/app.js',
  legalComments: 'none',
  logLevel: 'warning',
});
// The service worker (Web Push): fetched by the browser when notifications
// are turned on, not on first load.
await build({
  entryPoints: ['src/sw.ts'],
  bundle: true,
  format: 'esm',
  target: 'es2022',
  minify: true,
  outfile: 'dist/sw.js',
  legalComments: 'none',
  logLevel: 'warning',
});
// The sample notes app (local/echoagent/notes.manifest.json), served by the
// shim at /apps/notes/: a classic script (a sandboxed frame has an opaque
// origin, and module scripts would need CORS), loaded only when a
// conversation shows the app.
mkdirSync('dist/apps/notes', { recursive: true });
await build({
  entryPoints: ['src/notes/notes.ts'],
  bundle: true,
  format: 'iife',
  target: 'es2022',
  minify: true,
  outfile: 'dist/apps/notes/notes.js',
  legalComments: 'none',
  logLevel: 'warning',
});
for (const f of ['index.html', 'app.css']) copyFileSync(`src/${f}`, `dist/${f}`);
for (const f of ['index.html', 'notes.css']) copyFileSync(`src/notes/${f}`, `dist/apps/notes/${f}`);
let gz = 0;
for (const f of ['index.html', 'app.css', 'app.js', 'sw.js', 'apps/notes/notes.js']) {
  const b = readFileSync(`dist/${f}`);
  const z = gzipSync(b).length;
  if (f === 'app.js') gz += z;
  console.log(`dist/${f}: ${b.length} bytes, ${z} gzipped`);
}
console.log(`first-load JavaScript: ${gz} bytes gzipped`);
