// Builds the optional io_uring sender (native/uring-send.c) at install. Optional: where it cannot be built
// (not Linux, no compiler) the install goes on, and the fan-out writes with write(2) as before.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

function skip(why) {
  console.warn(`hookhub: the io_uring sender is not built (${why}); fan-out writes use write(2).`);
  process.exit(0);
}

if (process.platform !== 'linux') skip(`${process.platform} has no io_uring`);
if (process.env.HOOKHUB_IO_URING === '0') skip('HOOKHUB_IO_URING=0');
// npm hands its own node-gyp to install scripts; run by hand, the one beside this Node's npm.
const gyp = process.env.npm_config_node_gyp ?? join(dirname(process.execPath), '../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js');
if (!existsSync(gyp)) skip(`node-gyp not found at ${gyp}`);
// Against this Node's own headers where it has them (no download: the machine may have no way out).
const prefix = join(dirname(process.execPath), '..');
const nodedir = process.env.npm_config_nodedir ?? (existsSync(join(prefix, 'include/node/node_api.h')) ? prefix : undefined);
const args = [gyp, 'rebuild', '--release', ...(nodedir ? [`--nodedir=${nodedir}`] : [])];
const run = spawnSync(process.execPath, args, { stdio: 'inherit' });
if (run.status !== 0) skip(`node-gyp exited with ${run.status ?? run.signal}`);
