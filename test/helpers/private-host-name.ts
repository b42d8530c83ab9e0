// A host name (from /etc/hosts) that the URL check lets through but that resolves to a private
// address: what the connect-time guard (DNS rebinding) must refuse.
import { lookup } from 'node:dns/promises';
import { readFileSync } from 'node:fs';
import { checkTargetUrl, isPrivateAddress } from '../../src/core/target-guard.js';

export async function privateHostName(): Promise<string> {
  const names = readFileSync('/etc/hosts', 'utf8').split('\n')
    .map((line) => line.replace(/#.*/, '').trim().split(/\s+/))
    .filter((parts) => parts.length > 1 && isPrivateAddress(parts[0]!))
    .flatMap((parts) => parts.slice(1));
  for (const name of names) {
    try {
      checkTargetUrl(`http://${name}/`, false);
    } catch {
      continue; // refused by name already (localhost…)
    }
    const addresses = await lookup(name, { all: true }).catch(() => []);
    if (addresses.length > 0 && addresses.every((a) => isPrivateAddress(a.address))) return name;
  }
  throw new Error('no /etc/hosts name resolves to a private address; this test needs one (e.g. ip6-localhost or the host name)');
}
