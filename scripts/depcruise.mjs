// Checks src/ against the layer rules in .dependency-cruiser.cjs (docs/architecture.md).
// dependency-cruiser reads TypeScript through the compiler API of TypeScript 2–6, which TypeScript 7 no
// longer ships; so each src/ file is stripped of its types by esbuild first, with its type-only imports
// kept as imports (they are dependencies too), written as .js under a temporary folder with the same layout,
// and cruised there. Reported paths read src/…/x.js for src/…/x.ts.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { transformSync } from 'esbuild';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const out = mkdtempSync(join(tmpdir(), 'hookhub-depcruise-'));
const keepTypeImports = (text) => text
  .replace(/^(\s*)import type\s+/gm, '$1import ')
  .replace(/^(\s*)export type(\s*\{[^}]*\}\s*from\s)/gm, '$1export$2');
try {
  for (const file of readdirSync(join(root, 'src'), { recursive: true, encoding: 'utf8' })) {
    if (!file.endsWith('.ts')) continue;
    const { code } = transformSync(keepTypeImports(readFileSync(join(root, 'src', file), 'utf8')), {
      loader: 'ts',
      format: 'esm',
      // Imports are kept as written (an import of types only stays an import).
      tsconfigRaw: { compilerOptions: { verbatimModuleSyntax: true } },
    });
    const target = join(out, 'src', file.replace(/\.ts$/, '.js'));
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, code);
  }
  const bin = join(root, 'node_modules', '.bin', 'depcruise');
  const run = spawnSync(bin, ['src', '--config', join(root, '.dependency-cruiser.cjs'), '--output-type', 'err'], { cwd: out, stdio: 'inherit' });
  process.exitCode = run.status ?? 1;
} finally {
  rmSync(out, { recursive: true, force: true });
}
