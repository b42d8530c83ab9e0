// nginx + nchan from Debian (apt-get install nginx-light libnginx-mod-nchan), the fan-out yardstick.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildServer } from './lib.js';

const MODULE = '/usr/lib/nginx/modules/ngx_nchan_module.so';

export const nchanAvailable = (): boolean => existsSync('/usr/sbin/nginx') && existsSync(MODULE);

export async function startNchan(port: number): Promise<ChildServer & { workerPid(): number }> {
  const dir = mkdtempSync(join(tmpdir(), 'nchan-bench-'));
  const conf = join(dir, 'nginx.conf');
  writeFileSync(conf, `
load_module ${MODULE};
worker_processes 1;
daemon off;
master_process off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
# nchan's websocket subscribers take more than one connection slot each: room for 19,000 of them.
events { worker_connections 65536; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  server {
    listen 127.0.0.1:${port};
    location ~ /pub/(\\w+)$ { nchan_publisher; nchan_channel_id $1; nchan_message_buffer_length 100; }
    location ~ /sub/(\\w+)$ { nchan_subscriber eventsource; nchan_channel_id $1; }
    location ~ /ws/(\\w+)$ { nchan_subscriber websocket; nchan_channel_id $1; }
  }
}`);
  const proc = spawn('/usr/sbin/nginx', ['-c', conf, '-p', dir], { stdio: 'inherit' });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    try {
      await fetch(`${url}/pub/warmup`, { method: 'POST', body: 'x' });
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return {
    proc,
    url,
    // master_process off: the one process is the worker.
    workerPid: () => proc.pid as number,
    stop: () => new Promise((resolve) => {
      if (proc.exitCode !== null) return resolve();
      proc.on('exit', () => resolve());
      proc.kill('SIGTERM');
    }),
  };
}
