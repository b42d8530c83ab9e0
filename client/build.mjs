// Bundles client/hookbox.ts into client/dist/: hookbox.mjs (ES module, for the package) and hookbox.js
// (a plain script defining the global `hookbox`, served by the hub at /hookbox.js). `npm run build:client`.
import { build } from 'esbuild';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const common = {
  entryPoints: [join(here, 'hookbox.ts')],
  bundle: true,
  target: 'es2017',
  legalComments: 'none',
  logLevel: 'warning',
};

await Promise.all([
  build({ ...common, format: 'esm', outfile: join(here, 'dist/hookbox.mjs') }),
  build({ ...common, format: 'iife', globalName: 'hookbox', outfile: join(here, 'dist/hookbox.js') }),
]);
