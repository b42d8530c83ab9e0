import { getSystemErrorName } from 'node:util';

/** The error a failed stream write would carry (code, errno, syscall), from a negative errno. */
export function writeError(status: number): Error {
  let code = `E${-status}`;
  try {
    code = getSystemErrorName(status);
  } catch {
    // Not a system error number: the number stays in the code.
  }
  return Object.assign(new Error(`write ${code}`), { code, errno: status, syscall: 'write' });
}
