// nginx + nchan from Debian (apt-get install nginx-light libnginx-mod-nchan), the fan-out yardstick.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
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
# nchan's deployment model: a master and its worker (the shared-memory store is built for it). One worker: the bench
# measures one core's worth, as it does for Hookhub. BENCH_NCHAN_MASTER=off runs the worker alone (no CPU difference measured).
worker_processes 1;
daemon off;
master_process ${process.env.BENCH_NCHAN_MASTER ?? 'on'};
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
# Experiments: extra main-level and http-level directives (e.g. BENCH_NCHAN_HTTP="tcp_nodelay on;").
${process.env.BENCH_NCHAN_MAIN ?? ''}
# nchan's websocket subscribers take more than one connection slot each: room for 19,000 of them.
events { worker_connections 65536; }
http {
  access_log off;
  ${process.env.BENCH_NCHAN_HTTP ?? ''}
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
    workerPid: () => {
      const pid = proc.pid as number;
      const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
      // The worker is the master's child; with master_process off the one process is the worker.
      return children ? Number(children.split(' ')[0]) : pid;
    },
    stop: () => new Promise((resolve) => {
      if (proc.exitCode !== null) return resolve();
      proc.on('exit', () => resolve());
      proc.kill('SIGTERM');
    }),
  };
}
