/** A bind failure that names the listener and keeps the system error's fields (code, address, port). */

/** Wraps `cause` (e.g. EADDRINUSE) as "cannot listen on <transport> <address>:<port>: …" with its code, address and port. */
export function listenError(transport: string, address: string, port: number, cause: unknown): Error {
  const system = cause as NodeJS.ErrnoException & { address?: string; port?: number };
  const error = new Error(`cannot listen on ${transport} ${address}:${port}: ${system?.message ?? String(cause)}`, {
    cause,
  }) as NodeJS.ErrnoException & {
    address: string;
    port: number;
  };
  if (system?.code !== undefined) error.code = system.code;
  if (system?.errno !== undefined) error.errno = system.errno;
  if (system?.syscall !== undefined) error.syscall = system.syscall;
  error.address = address;
  error.port = port;
  return error;
}
