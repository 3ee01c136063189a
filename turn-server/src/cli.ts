/**
 * `switchboard-turn`: reads the settings (config.ts), builds the handlers, starts the relay core, the
 * operations HTTP server (metrics.ts), heartbeats (registry-client.ts) and graceful drain (drain.ts),
 * and logs one `listening` line with every bound address (tests read the ports from it when they ask
 * for port 0). Exit codes: 0 after a drain or for --help/--version; 1 for bad settings, a port that is
 * taken or an unexpected crash; 128 + the signal number when a second signal forces the exit.
 */
import { readFileSync } from "node:fs";
import { restAuthHandler, staticUsersAuthHandler } from "./auth.ts";
import { helpText, parseConfig, type TurnConfig } from "./config.ts";
import { createDrainController } from "./drain.ts";
import type { AuthHandler } from "./handlers.ts";
import { coreLogger, createLogger, logServerEvents } from "./logger.ts";
import { createMetrics, type OpsServer, startOpsServer } from "./metrics.ts";
import { createPeerPolicy } from "./peer-policy.ts";
import { quotaHandler } from "./quota.ts";
import { createRegistryClient, iceUrls, loadMeter, type RegistryClient, urlHost } from "./registry-client.ts";
import { createTurnServer } from "./server.ts";
import type { BoundListener, TurnServer } from "./server-api.ts";
import type { DatagramIo } from "./transports/datagram.ts";
import { selectUdpIo } from "./udp-io.ts";

/** The package version, for --version, the start-up line and turn_build_info. */
function packageVersion(): string {
  try {
    const manifest = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version?: string };
    return manifest.version ?? "unknown";
  } catch {
    return "unknown";
  }
}

/** REST credentials first (production), then static users (development): the first that knows the username wins. */
function authFrom(config: TurnConfig): AuthHandler {
  const handlers: AuthHandler[] = [];
  if (config.auth.restSecrets.length > 0) handlers.push(restAuthHandler(config.auth.restSecrets));
  if (config.auth.users.length > 0)
    handlers.push(staticUsersAuthHandler(new Map(config.auth.users.map((user) => [user.name, user.password]))));
  if (handlers.length === 1) return handlers[0]!;
  return async (username, realm, source) => {
    for (const handler of handlers) {
      const grant = await handler(username, realm, source);
      if (grant) return grant;
    }
    return null;
  };
}

function describeAuth(config: TurnConfig): string {
  const modes: string[] = [];
  const { restSecrets, users } = config.auth;
  if (restSecrets.length > 0) modes.push(`rest (${restSecrets.length} secret${restSecrets.length === 1 ? "" : "s"})`);
  if (users.length > 0) modes.push(`static (${users.length} user${users.length === 1 ? "" : "s"})`);
  return modes.join(" + ");
}

/** Explains a failed bind in the operator's terms: which setting, which address, what to do. */
function describeListenError(error: unknown, setting: string): string {
  const failure = error as NodeJS.ErrnoException & { address?: string; port?: number };
  const where = failure.address !== undefined ? ` ${urlHost(failure.address)}:${failure.port ?? "?"}` : "";
  if (failure.code === "EADDRINUSE") return `${setting}:${where} is already in use by another process: stop it or choose another port`;
  if (failure.code === "EADDRNOTAVAIL") return `${setting}:${where} is not an address of this host: use one of its interface addresses`;
  if (failure.code === "EACCES")
    return `${setting}:${where} needs privileges (ports below 1024): use a higher port or grant CAP_NET_BIND_SERVICE`;
  return `${setting}: ${failure.message ?? String(error)}`;
}

/**
 * Runs the relay until it is drained. Resolves when start-up is complete; the process then lives on
 * its sockets and ends through drain.ts. `exit` is injectable for tests of the start-up paths.
 */
export async function main(
  argv: string[] = process.argv.slice(2),
  env: Record<string, string | undefined> = process.env,
  exit: (code: number) => void = (code) => process.exit(code),
): Promise<void> {
  const parsed = parseConfig(argv, env);
  if (parsed.kind === "help") {
    process.stdout.write(`${helpText()}\n`);
    return exit(0);
  }
  const version = packageVersion();
  if (parsed.kind === "version") {
    process.stdout.write(`switchboard-turn ${version}\n`);
    return exit(0);
  }
  if (parsed.kind === "error") {
    process.stderr.write(
      `switchboard-turn: cannot start:\n${parsed.errors.map((error) => `  - ${error}`).join("\n")}\nRun switchboard-turn --help for every setting.\n`,
    );
    return exit(1);
  }
  const config = parsed.config;
  const logger = createLogger({ level: config.logLevel, ...(config.registry ? { nodeId: config.registry.nodeId } : {}) });
  const fatal = (fields: Record<string, unknown>, message: string): void => {
    logger.fatal({ event: "start-failed", ...fields }, message);
    exit(1);
  };

  // A throw that escaped every error boundary leaves the relay in an unknown state: log it and stop,
  // and let the supervisor restart a clean process.
  const crash = (error: unknown, message: string) => {
    logger.fatal({ event: "crash", err: error }, message);
    exit(1);
  };
  process.on("uncaughtException", (error) => crash(error, "uncaught exception"));
  process.on("unhandledRejection", (reason) => crash(reason, "unhandled promise rejection"));

  for (const warning of config.warnings) logger.warn({ event: "config-warning" }, warning);

  let tls: { cert: Uint8Array; key: Uint8Array } | undefined;
  if (config.tls) {
    try {
      tls = { cert: readFileSync(config.tls.certPath), key: readFileSync(config.tls.keyPath) };
    } catch (error) {
      return fatal({ err: error }, `--cert/--pkey: cannot read ${(error as NodeJS.ErrnoException).path ?? "the file"}`);
    }
  }

  let udpIo: DatagramIo;
  try {
    const selected = selectUdpIo(config.udpIo);
    udpIo = selected.io;
    if (selected.fallbackReason !== null) {
      logger.warn(
        { event: "udp-io-fallback", reason: selected.fallbackReason },
        `--udp-io=auto: using Node's dgram (${selected.fallbackReason})`,
      );
    }
  } catch (error) {
    return fatal({ err: error }, error instanceof Error ? error.message : String(error));
  }

  let server: TurnServer;
  try {
    server = createTurnServer({
      realm: config.realm,
      listeners: config.listeners,
      ...(tls ? { tls } : {}),
      relayAddresses: config.relayAddresses,
      ...(config.externalAddress ? { externalAddress: config.externalAddress } : {}),
      minPort: config.minPort,
      maxPort: config.maxPort,
      auth: authFrom(config),
      peerPolicy: createPeerPolicy(config.peerPolicy),
      quota: quotaHandler({ userQuota: config.userQuota, totalQuota: config.totalQuota }),
      maxBytesPerSecond: config.maxBytesPerSecond,
      maxAllocationAgeSeconds: config.maxAllocationAgeSeconds,
      maxLifetimeSeconds: config.maxLifetimeSeconds,
      defaultLifetimeSeconds: config.defaultLifetimeSeconds,
      legacyChannelNumbers: config.legacyChannelNumbers,
      udpIo,
      software: `switchboard-turn/${version}`,
      logger: coreLogger(logger),
    });
  } catch (error) {
    return fatal({ err: error }, `invalid relay settings: ${error instanceof Error ? error.message : String(error)}`);
  }

  const nodeId = config.registry?.nodeId;
  const metrics = createMetrics(server, { version, ...(nodeId ? { nodeId } : {}) });
  logServerEvents(server, logger);

  let bound: BoundListener[];
  try {
    bound = await server.listen();
  } catch (error) {
    await server.close().catch(() => {});
    return fatal({ err: error }, describeListenError(error, "--listening-ip/--listening-port"));
  }

  let listening = true;
  let draining = false;
  let ops: OpsServer | undefined;
  if (config.metrics) {
    try {
      ops = await startOpsServer({
        address: config.metrics.address,
        port: config.metrics.port,
        registry: metrics.registry,
        readiness: () =>
          draining
            ? { ready: false, status: "draining" }
            : listening
              ? { ready: true, status: "ready" }
              : { ready: false, status: "starting" },
      });
    } catch (error) {
      await server.close().catch(() => {});
      return fatal({ err: error }, describeListenError(error, "--metrics-ip/--metrics-port"));
    }
  }

  const advertised = config.publicHost ? iceUrls(config.publicHost, bound) : [];
  let registryClient: RegistryClient | undefined;
  const drain = createDrainController({
    server,
    logger,
    drainTimeoutSeconds: config.drainTimeoutSeconds,
    alternate: config.drainAlternate,
    onDrainStart: () => {
      draining = true;
      registryClient?.sendNow();
    },
    shutdown: async (code, reason) => {
      listening = false;
      await registryClient?.stop();
      // Ends live allocations with reason "shutdown": their usage records are logged on the way out.
      await server.close();
      await ops?.close();
      metrics.detach();
      logger.info({ event: "exit", code, reason }, "switchboard-turn stopped");
      exit(code);
    },
  });

  if (config.registry) {
    const registry = config.registry;
    const load = loadMeter(() => server.stats());
    registryClient = createRegistryClient({
      url: registry.url,
      token: registry.token,
      intervalSeconds: registry.intervalSeconds,
      logger,
      heartbeat: () => ({
        id: registry.nodeId,
        region: registry.region,
        urls: advertised,
        ...(registry.capacity ? { capacity: registry.capacity } : {}),
        load: load(),
        draining,
      }),
      onResult: (result) => metrics.recordHeartbeat(result),
      onDrainRequested: () => drain.start("registry", false),
    });
  }
  drain.installSignalHandlers();

  logger.info(
    {
      event: "listening",
      version,
      listeners: bound.map((listener) => ({ transport: listener.transport, address: listener.address, port: listener.port })),
      relay: {
        addresses: config.relayAddresses,
        minPort: config.minPort,
        maxPort: config.maxPort,
        externalAddress: config.externalAddress ?? null,
      },
      realm: config.realm,
      udpIo: udpIo.name,
      auth: describeAuth(config),
      peerPolicy: {
        allowLoopback: config.peerPolicy.allowLoopback,
        allowed: config.peerPolicy.allowedPeerCidrs,
        denied: config.peerPolicy.deniedPeerCidrs,
      },
      metrics: ops ? { address: ops.address, port: ops.port } : null,
      registry: config.registry ? { url: config.registry.url, nodeId: config.registry.nodeId, region: config.registry.region } : null,
      urls: advertised,
    },
    `listening on ${bound.map((listener) => `${listener.transport}://${urlHost(listener.address)}:${listener.port}`).join(", ")}`,
  );
  registryClient?.start();
}
