/**
 * Static checks of everything in infra/: no Docker engine or cluster runs here, so the manifests are
 * parsed and their required fields and cross-references validated, and every switchboard-turn flag or
 * TURN_* variable they use is checked against the relay's own --help.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { builtinModules } from "node:module";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";

const repoRoot = resolve(import.meta.dirname, "..");
const infraDir = join(repoRoot, "infra");
const turnBin = join(repoRoot, "turn-server", "bin", "switchboard-turn.js");

type Json = Record<string, unknown>;

// ---------------------------------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------------------------------

function filesUnder(dir: string, pattern: RegExp): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && pattern.test(entry.name))
    .map((entry) => join(entry.parentPath, entry.name))
    .sort();
}

/** Every YAML document of a file; fails the test on any parse error or warning. */
function yamlDocuments(path: string): Json[] {
  const documents = parseAllDocuments(readFileSync(path, "utf8"), { merge: true, prettyErrors: true });
  const list = Array.isArray(documents) ? documents : [documents];
  return list.map((document) => {
    expect(document.errors.map(String), relative(repoRoot, path)).toEqual([]);
    expect(document.warnings.map(String), relative(repoRoot, path)).toEqual([]);
    return document.toJS() as Json;
  });
}

/** A value at a dotted path, or undefined. */
function at(object: unknown, path: string): unknown {
  let value: unknown = object;
  for (const key of path.split(".")) {
    if (value === null || typeof value !== "object") return undefined;
    value = (value as Json)[key];
  }
  return value;
}

function asRecord(value: unknown, what: string): Json {
  expect(value, what).toBeTypeOf("object");
  return value as Json;
}

/** The relay's --help: from the real bin when it exists, else from the config module that prints it. */
async function relayHelp(): Promise<{ text: string; source: string }> {
  if (existsSync(turnBin)) {
    const result = spawnSync(process.execPath, [turnBin, "--help"], { encoding: "utf8", timeout: 20_000 });
    expect(result.status, result.stderr).toBe(0);
    return { text: result.stdout, source: "switchboard-turn --help" };
  }
  const config = (await import("../turn-server/src/config.ts")) as { helpText(): string };
  return { text: config.helpText(), source: "turn-server/src/config.ts helpText()" };
}

const kubernetesDocuments = filesUnder(join(infraDir, "k8s"), /\.ya?ml$/).flatMap((path) =>
  yamlDocuments(path).map((document) => ({ path: relative(repoRoot, path), document })),
);
const objects = kubernetesDocuments.filter(({ document }) => document.kind !== "Kustomization");
const byKind = (kind: string) => objects.filter(({ document }) => document.kind === kind).map(({ document }) => document);
const one = (kind: string): Json => {
  const found = byKind(kind);
  expect(found, kind).toHaveLength(1);
  return found[0]!;
};

// ---------------------------------------------------------------------------------------------------
// Kubernetes
// ---------------------------------------------------------------------------------------------------

describe("Kubernetes manifests", () => {
  const statefulSet = one("StatefulSet");
  const podSpec = asRecord(at(statefulSet, "spec.template.spec"), "pod spec");
  const podLabels = asRecord(at(statefulSet, "spec.template.metadata.labels"), "pod labels");
  const containers = at(podSpec, "containers") as Json[];
  const turn = containers[0]!;
  const configMap = one("ConfigMap");
  const configData = asRecord(configMap.data, "ConfigMap data");

  const selects = (selector: unknown, labels: Json) =>
    Object.entries(asRecord(selector, "selector")).every(([key, value]) => labels[key] === value);

  it("are valid objects: apiVersion, kind, metadata.name, no namespace", () => {
    expect(objects.length).toBeGreaterThanOrEqual(7);
    for (const { path, document } of objects) {
      expect(document.apiVersion, path).toMatch(/^([a-z0-9.-]+\/)?v\d+(beta\d+|alpha\d+)?$/);
      expect(document.kind, path).toMatch(/^[A-Z][A-Za-z]+$/);
      expect(at(document, "metadata.name"), path).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
      expect(at(document, "metadata.namespace"), `${path} must be namespace-less`).toBeUndefined();
    }
  });

  it("kustomization lists existing files and leaves the placeholder Secret out", () => {
    const kustomization = yamlDocuments(join(infraDir, "k8s", "kustomization.yaml"))[0]!;
    const resources = kustomization.resources as string[];
    for (const resource of resources) expect(existsSync(join(infraDir, "k8s", resource)), resource).toBe(true);
    expect(resources).not.toContain("secret.yaml");
    expect(resources).toContain("statefulset.yaml");
  });

  it("the StatefulSet selects its own pods and runs them on the host network, one per machine", () => {
    expect(selects(at(statefulSet, "spec.selector.matchLabels"), podLabels)).toBe(true);
    expect(podSpec.hostNetwork).toBe(true);
    expect(podSpec.dnsPolicy).toBe("ClusterFirstWithHostNet");
    const antiAffinity = at(podSpec, "affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution") as Json[];
    expect(antiAffinity[0]?.topologyKey).toBe("kubernetes.io/hostname");
    expect(selects(at(antiAffinity[0], "labelSelector.matchLabels"), podLabels)).toBe(true);
    const service = byKind("Service").find((candidate) => at(candidate, "metadata.name") === at(statefulSet, "spec.serviceName"));
    expect(service, "spec.serviceName names a Service").toBeDefined();
    expect(at(service, "spec.clusterIP")).toBe("None");
  });

  it("its container has an image, ports, probes on /readyz and /healthz, and runs unprivileged", () => {
    expect(turn.image).toMatch(/^[\w./-]+(:[\w.-]+|@sha256:[0-9a-f]{64})$/);
    const ports = turn.ports as Json[];
    const portNames = new Set(ports.map((port) => port.name));
    const has = (port: number, protocol: string) => ports.some((entry) => entry.containerPort === port && entry.protocol === protocol);
    expect(has(3478, "UDP") && has(3478, "TCP") && has(5349, "TCP") && has(9641, "TCP")).toBe(true);
    expect(at(turn, "readinessProbe.httpGet.path")).toBe("/readyz");
    expect(at(turn, "livenessProbe.httpGet.path")).toBe("/healthz");
    expect(portNames.has(at(turn, "readinessProbe.httpGet.port"))).toBe(true);
    expect(portNames.has(at(turn, "livenessProbe.httpGet.port"))).toBe(true);
    expect(at(podSpec, "securityContext.runAsNonRoot")).toBe(true);
    expect(at(podSpec, "securityContext.runAsUser")).not.toBe(0);
    expect(at(turn, "securityContext.allowPrivilegeEscalation")).toBe(false);
    expect(at(turn, "securityContext.capabilities.drop")).toEqual(["ALL"]);
  });

  it("drains on stop: a preStop hook signals the relay and the grace period outlasts the drain timeout", () => {
    const preStop = at(turn, "lifecycle.preStop.exec.command") as string[];
    expect(preStop.join(" ")).toMatch(/kill -TERM 1/);
    // It waits for the relay to exit: returning early would let kubelet's SIGTERM be a second signal (exit at once).
    expect(preStop.join(" ")).toMatch(/while kill -0 1/);
    const drainTimeout = Number(configData.TURN_DRAIN_TIMEOUT);
    expect(drainTimeout).toBeGreaterThan(0);
    expect(podSpec.terminationGracePeriodSeconds as number).toBeGreaterThanOrEqual(drainTimeout + 10);
  });

  it("every Secret key and ConfigMap it references exists; secrets come by env, never args", () => {
    const secrets = byKind("Secret");
    for (const entry of turn.env as Json[]) {
      const reference = at(entry, "valueFrom.secretKeyRef") as Json | undefined;
      if (!reference) continue;
      const secret = secrets.find((candidate) => at(candidate, "metadata.name") === reference.name);
      expect(secret, `Secret ${String(reference.name)}`).toBeDefined();
      const keys = Object.keys({ ...(secret!.stringData as Json), ...(secret!.data as Json) });
      expect(keys, `key ${String(reference.key)}`).toContain(reference.key);
    }
    for (const source of turn.envFrom as Json[]) {
      expect(at(configMap, "metadata.name")).toBe(at(source, "configMapRef.name"));
    }
    const args = (turn.args as string[]).join(" ");
    expect(args).not.toMatch(/static-auth-secret|node-token/);
    // The TLS Secret is created by hand (kubectl create secret tls); its name must be the one documented.
    const tlsVolume = (podSpec.volumes as Json[]).find((volume) => volume.name === "tls");
    const tlsSecret = at(tlsVolume, "secret.secretName") as string;
    expect(readFileSync(join(infraDir, "k8s", "secret.yaml"), "utf8")).toContain(`create secret tls ${tlsSecret}`);
  });

  it("every $(VAR) in args is defined in the container's env", () => {
    const defined = new Set([...(turn.env as Json[]).map((entry) => entry.name as string), ...Object.keys(configData)]);
    for (const arg of turn.args as string[]) {
      for (const match of arg.matchAll(/\$\(([A-Z_][A-Z0-9_]*)\)/g)) expect(defined.has(match[1]!), `${arg}`).toBe(true);
    }
  });

  it("the PodDisruptionBudget, metrics Service, ServiceMonitor and HPA all point at the TURN pods", () => {
    const pdb = one("PodDisruptionBudget");
    expect(selects(at(pdb, "spec.selector.matchLabels"), podLabels)).toBe(true);
    expect(at(pdb, "spec.maxUnavailable")).toBe(1);

    const service = one("Service");
    expect(selects(at(service, "spec.selector"), podLabels)).toBe(true);
    const metricsPort = (at(service, "spec.ports") as Json[]).find((port) => port.name === "metrics");
    expect((turn.ports as Json[]).some((port) => port.name === metricsPort?.targetPort)).toBe(true);

    const monitor = one("ServiceMonitor");
    expect(selects(at(monitor, "spec.selector.matchLabels"), asRecord(at(service, "metadata.labels"), "service labels"))).toBe(true);
    expect((at(monitor, "spec.endpoints") as Json[])[0]?.port).toBe("metrics");

    const hpa = one("HorizontalPodAutoscaler");
    expect(at(hpa, "spec.scaleTargetRef.kind")).toBe("StatefulSet");
    expect(at(hpa, "spec.scaleTargetRef.name")).toBe(at(statefulSet, "metadata.name"));
    const metricNames = (at(hpa, "spec.metrics") as Json[]).map((metric) => at(metric, "pods.metric.name") ?? at(metric, "resource.name"));
    expect(metricNames).toEqual(expect.arrayContaining(["cpu", "turn_allocations"]));
    // Scale-in drains a node: never faster than one at a time.
    expect((at(hpa, "spec.behavior.scaleDown.policies") as Json[])[0]?.value).toBe(1);
  });

  it("uses only flags and TURN_* variables that switchboard-turn --help lists", async () => {
    const help = await relayHelp();
    for (const arg of turn.args as string[]) {
      const flag = /^(--[a-z0-9-]+)/.exec(arg)?.[1];
      expect(flag, arg).toBeDefined();
      expect(help.text, `${flag} in ${help.source}`).toContain(`${flag}`);
    }
    const variables = [...Object.keys(configData), ...(turn.env as Json[]).map((entry) => entry.name as string)].filter((name) =>
      name.startsWith("TURN_"),
    );
    expect(variables.length).toBeGreaterThan(5);
    for (const name of variables) expect(help.text, `${name} in ${help.source}`).toContain(`env ${name}`);
  });
});

// ---------------------------------------------------------------------------------------------------
// Compose
// ---------------------------------------------------------------------------------------------------

describe("docker-compose.yml", () => {
  const composePath = join(infraDir, "compose", "docker-compose.yml");
  const compose = yamlDocuments(composePath)[0]!;
  const services = asRecord(compose.services, "services");
  const turnServices = Object.entries(services).filter(([name]) => name.startsWith("turn-"));

  it("runs two TURN nodes built from the Dockerfile, plus the worker", () => {
    expect(turnServices).toHaveLength(2);
    expect(services.worker).toBeDefined();
    for (const [name, service] of turnServices) {
      const build = asRecord(at(service, "build"), `${name} build`);
      const context = resolve(dirname(composePath), build.context as string);
      expect(context).toBe(repoRoot);
      expect(existsSync(join(context, build.dockerfile as string)), name).toBe(true);
      expect(at(service, "network_mode"), name).toBe("host");
      expect(at(service, "stop_signal"), name).toBe("SIGTERM");
    }
  });

  it("gives each node its own id, ports and relay range, and a drain shorter than the stop grace period", () => {
    const environments = turnServices.map(([, service]) => asRecord(at(service, "environment"), "environment"));
    const distinct = (key: string) => new Set(environments.map((environment) => environment[key])).size === environments.length;
    expect(distinct("TURN_NODE_ID") && distinct("TURN_LISTENING_PORT") && distinct("TURN_METRICS_PORT")).toBe(true);
    const [first, second] = environments.map((environment) => [Number(environment.TURN_MIN_PORT), Number(environment.TURN_MAX_PORT)]);
    expect(first![1]! < second![0]! || second![1]! < first![0]!).toBe(true);
    for (const [name, service] of turnServices) {
      const grace = Number(/^(\d+)s$/.exec(String(at(service, "stop_grace_period")))?.[1]);
      const drain = Number(at(service, "environment.TURN_DRAIN_TIMEOUT"));
      expect(grace, name).toBeGreaterThan(drain);
    }
  });

  it("sets only TURN_* variables that switchboard-turn --help lists", async () => {
    const help = await relayHelp();
    for (const [, service] of turnServices) {
      for (const name of Object.keys(asRecord(at(service, "environment"), "environment"))) {
        expect(help.text, `${name} in ${help.source}`).toContain(`env ${name}`);
      }
    }
  });
});

// ---------------------------------------------------------------------------------------------------
// Dockerfile
// ---------------------------------------------------------------------------------------------------

/** Dockerfile instructions with line continuations joined and comments dropped. */
function dockerInstructions(text: string): Array<{ keyword: string; args: string }> {
  const instructions: Array<{ keyword: string; args: string }> = [];
  let pending = "";
  for (const rawLine of text.split("\n")) {
    const line = rawLine.trim();
    if (pending === "" && (line === "" || line.startsWith("#"))) continue;
    if (pending !== "" && line.startsWith("#")) continue;
    pending += (pending ? " " : "") + line.replace(/\\$/, "").trim();
    if (line.endsWith("\\")) continue;
    const match = /^([A-Za-z]+)\s+([\s\S]*)$/.exec(pending);
    if (match) instructions.push({ keyword: match[1]!.toUpperCase(), args: match[2]! });
    pending = "";
  }
  return instructions;
}

/** Bare package names the relay imports at runtime, following relative imports from its bin. */
function relayRuntimePackages(): Set<string> {
  const entry = existsSync(turnBin) ? turnBin : join(repoRoot, "turn-server", "src", "config.ts");
  const seen = new Set<string>();
  const packages = new Set<string>();
  const queue = [entry];
  while (queue.length > 0 && seen.size < 2000) {
    const file = queue.pop()!;
    if (seen.has(file) || !existsSync(file)) continue;
    seen.add(file);
    const source = readFileSync(file, "utf8");
    // `import … from "x"`, `export … from "x"`, `import "x"` and `import("x")`; type-only imports vanish at runtime.
    const pattern = /^\s*(?:import|export)\s(?:[^;]*?\sfrom\s*)?["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/gm;
    for (const match of source.matchAll(pattern)) {
      const specifier = match[1] ?? match[2]!;
      if (/^\s*(import|export)\s+type\s/.test(match[0])) continue;
      if (specifier.startsWith(".")) queue.push(resolve(dirname(file), specifier));
      else if (!specifier.startsWith("node:") && !builtinModules.includes(specifier)) {
        packages.add(specifier.startsWith("@") ? specifier.split("/").slice(0, 2).join("/") : specifier.split("/")[0]!);
      }
    }
  }
  return packages;
}

describe("Dockerfile", () => {
  const dockerfile = readFileSync(join(infraDir, "docker", "Dockerfile"), "utf8");
  const instructions = dockerInstructions(dockerfile);
  const stages = instructions.filter((instruction) => instruction.keyword === "FROM");
  const lastStageStart = instructions.lastIndexOf(stages.at(-1)!);
  const runtime = instructions.slice(lastStageStart);

  it("is multi-stage: deps, native (the UDP addon) and a runtime stage on node:22-slim that copies from both", () => {
    expect(stages.map((stage) => /\bAS\s+(\S+)/i.exec(stage.args)?.[1])).toEqual(["deps", "native", "runtime"]);
    expect(runtime.some((instruction) => instruction.keyword === "COPY" && instruction.args.includes("--from=native"))).toBe(true);
    const nativeStage = instructions.slice(instructions.indexOf(stages[1]!), lastStageStart);
    expect(nativeStage.some((instruction) => instruction.keyword === "RUN" && instruction.args.includes("scripts/build-native.ts"))).toBe(
      true,
    );
    const baseImage = /^ARG NODE_IMAGE=(\S+)/m.exec(dockerfile)?.[1];
    expect(baseImage).toMatch(/^node:22(\.\d+)*-slim/);
    expect(stages.every((stage) => stage.args.startsWith("$" + "{NODE_IMAGE}"))).toBe(true);
    expect(runtime.some((instruction) => instruction.keyword === "COPY" && instruction.args.includes("--from=deps"))).toBe(true);
    const install = instructions.find((instruction) => instruction.keyword === "RUN" && instruction.args.includes("npm install"));
    expect(install?.args).toMatch(/--omit=dev/);
    expect(install?.args).toMatch(/--ignore-scripts/);
  });

  it("runs as a non-root user with a HEALTHCHECK on /healthz and the switchboard-turn entrypoint", () => {
    const user = runtime
      .filter((instruction) => instruction.keyword === "USER")
      .at(-1)
      ?.args.split(":")[0];
    expect(user).toBeDefined();
    expect(["root", "0"]).not.toContain(user);
    const healthcheck = runtime.find((instruction) => instruction.keyword === "HEALTHCHECK");
    expect(healthcheck?.args).toMatch(/CMD/);
    expect(healthcheck?.args).toContain("/healthz");
    expect(runtime.find((instruction) => instruction.keyword === "ENTRYPOINT")?.args).toBe('["switchboard-turn"]');
    expect(runtime.find((instruction) => instruction.keyword === "STOPSIGNAL")?.args).toBe("SIGTERM");
  });

  it("exposes STUN/TURN on UDP and TCP, TLS, metrics and the relay range", () => {
    const exposed = runtime
      .filter((instruction) => instruction.keyword === "EXPOSE")
      .flatMap((instruction) => instruction.args.split(/\s+/));
    expect(exposed).toEqual(expect.arrayContaining(["3478/udp", "3478/tcp", "5349/tcp", "9641/tcp", "49152-65535/udp"]));
  });

  it("installs every package the relay imports, and the build context carries every file it copies", () => {
    const declared = /ARG TURN_DEPENDENCIES="([^"]+)"/.exec(dockerfile)?.[1]?.split(/\s+/) ?? [];
    const imported = relayRuntimePackages();
    expect(imported.size).toBeGreaterThan(0);
    for (const name of imported) expect(declared, `the relay imports ${name}`).toContain(name);
    const packageJson = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as { dependencies: Record<string, string> };
    for (const name of declared) expect(Object.keys(packageJson.dependencies), `${name} in dependencies`).toContain(name);

    const dockerignore = readFileSync(join(repoRoot, ".dockerignore"), "utf8").split("\n");
    const included = dockerignore.filter((line) => line.startsWith("!")).map((line) => line.slice(1).replace(/\/$/, ""));
    for (const instruction of instructions.filter((candidate) => candidate.keyword === "COPY" && !candidate.args.includes("--from"))) {
      const sources = instruction.args.split(/\s+/).slice(0, -1);
      for (const source of sources) {
        const path = source.replace(/\/$/, "");
        expect(existsSync(join(repoRoot, path)) || path === "turn-server/bin", path).toBe(true);
        expect(included, `.dockerignore lets ${path} in`).toContain(path);
      }
    }
  });

  it("trims package.json to the relay's dependencies (the script the deps stage runs)", () => {
    const outDir = join(repoRoot, "test-results");
    const output = join(outDir, "turn-package.json");
    const result = spawnSync(
      process.execPath,
      [join(infraDir, "docker", "turn-package.mjs"), join(repoRoot, "package.json"), output, "pino", "zod"],
      {
        encoding: "utf8",
        timeout: 10_000,
      },
    );
    expect(result.status, result.stderr).toBe(0);
    const trimmed = JSON.parse(readFileSync(output, "utf8")) as Json;
    expect(Object.keys(trimmed.dependencies as Json)).toEqual(["pino", "zod"]);
    expect(trimmed.devDependencies).toBeUndefined();
    expect(trimmed.optionalDependencies).toBeUndefined();
    expect(trimmed.type).toBe("module");

    const missing = spawnSync(
      process.execPath,
      [join(infraDir, "docker", "turn-package.mjs"), join(repoRoot, "package.json"), output, "left-pad"],
      {
        encoding: "utf8",
        timeout: 10_000,
      },
    );
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain('left-pad is not in the "dependencies"');
  });
});

// ---------------------------------------------------------------------------------------------------
// systemd
// ---------------------------------------------------------------------------------------------------

describe("systemd unit", () => {
  const unitPath = join(infraDir, "systemd", "switchboard-turn.service");
  const text = readFileSync(unitPath, "utf8");
  const sections = new Map<string, Map<string, string[]>>();
  let current: Map<string, string[]> | undefined;
  for (const rawLine of text.split("\n")) {
    const line = rawLine.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const section = /^\[(.+)\]$/.exec(line);
    if (section) {
      current = new Map();
      sections.set(section[1]!, current);
      continue;
    }
    const [key, ...value] = line.split("=");
    current?.set(key!.trim(), [...(current.get(key!.trim()) ?? []), value.join("=").trim()]);
  }
  const service = sections.get("Service") ?? new Map<string, string[]>();
  const value = (key: string) => service.get(key)?.at(-1);

  it("has the sandboxing settings", () => {
    const required: Record<string, string | RegExp> = {
      DynamicUser: "yes",
      ProtectSystem: "strict",
      ProtectHome: "yes",
      NoNewPrivileges: "yes",
      PrivateTmp: "yes",
      CapabilityBoundingSet: "CAP_NET_BIND_SERVICE",
      AmbientCapabilities: "CAP_NET_BIND_SERVICE",
      RestrictAddressFamilies: "AF_INET AF_INET6 AF_UNIX",
      KillSignal: "SIGTERM",
      EnvironmentFile: /^\/etc\/switchboard\/\S+$/,
      LimitNOFILE: /^\d{6,}$/,
      SystemCallFilter: "@system-service",
    };
    for (const [key, expected] of Object.entries(required)) {
      if (typeof expected === "string") expect(value(key), key).toBe(expected);
      else expect(value(key), key).toMatch(expected);
    }
    expect(sections.has("Unit") && sections.has("Install")).toBe(true);
  });

  it("does not set MemoryDenyWriteExecute (V8's JIT needs W+X pages) and says why", () => {
    expect(service.has("MemoryDenyWriteExecute")).toBe(false);
    expect(text).toMatch(/#.*MemoryDenyWriteExecute[\s\S]*V8's JIT/);
  });

  it("gives the drain time to finish before systemd kills the relay", () => {
    const drain = Number(/TURN_DRAIN_TIMEOUT=(\d+)/.exec(text)?.[1]);
    expect(drain).toBeGreaterThan(0);
    expect(Number(value("TimeoutStopSec"))).toBeGreaterThan(drain);
    // Only the main process gets SIGTERM: a second SIGTERM makes the relay exit at once.
    expect(value("KillMode")).toBe("mixed");
  });

  it("uses only TURN_* variables that switchboard-turn --help lists", async () => {
    const help = await relayHelp();
    const names = [...text.matchAll(/^#\s+(TURN_[A-Z_]+)=/gm)].map((match) => match[1]!);
    expect(names.length).toBeGreaterThan(5);
    for (const name of names) expect(help.text, `${name} in ${help.source}`).toContain(`env ${name}`);
  });

  it.skipIf(spawnSync("systemd-analyze", ["--version"]).status !== 0)("passes systemd-analyze verify without unknown keys", () => {
    const result = spawnSync("systemd-analyze", ["verify", unitPath], { encoding: "utf8", timeout: 20_000 });
    const complaints = result.stderr
      .split("\n")
      .filter((line) => /Unknown (key|section)|Failed to parse|Invalid|Missing/i.test(line))
      // verify also checks that ExecStart's binary exists on this machine, which is not the point here.
      .filter((line) => !/is not executable|No such file/.test(line));
    expect(complaints).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------------
// wrangler.toml environments
// ---------------------------------------------------------------------------------------------------

/** The flat parts of wrangler.toml: `key = "string"` pairs per [table], and [[array tables]] as lists. */
function tomlTables(text: string): { tables: Map<string, Map<string, string>>; arrays: Map<string, Array<Map<string, string>>> } {
  const tables = new Map<string, Map<string, string>>([["", new Map()]]);
  const arrays = new Map<string, Array<Map<string, string>>>();
  let current = tables.get("")!;
  for (const rawLine of text.split("\n")) {
    const line = rawLine.trim();
    if (line === "" || line.startsWith("#")) continue;
    const arrayHeader = /^\[\[([^\]]+)\]\]$/.exec(line);
    const tableHeader = /^\[([^\]]+)\]$/.exec(line);
    if (arrayHeader) {
      current = new Map();
      arrays.set(arrayHeader[1]!, [...(arrays.get(arrayHeader[1]!) ?? []), current]);
    } else if (tableHeader) {
      current = new Map();
      tables.set(tableHeader[1]!, current);
    } else {
      const pair = /^([A-Za-z0-9_-]+)\s*=\s*"([^"]*)"$/.exec(line);
      if (pair) current.set(pair[1]!, pair[2]!);
    }
  }
  return { tables, arrays };
}

describe("wrangler.toml environments", () => {
  const { tables, arrays } = tomlTables(readFileSync(join(repoRoot, "wrangler.toml"), "utf8"));
  const topVars = tables.get("vars")!;
  const bindings = (prefix: string) =>
    (arrays.get(`${prefix}durable_objects.bindings`) ?? []).map((binding) => `${binding.get("name")}=${binding.get("class_name")}`).sort();

  it("defaults to production at the top level", () => {
    expect(topVars.get("ENVIRONMENT")).toBe("production");
  });

  it("production and staging repeat every var and Durable Object binding (environments inherit neither)", () => {
    for (const environment of ["production", "staging"]) {
      const vars = tables.get(`env.${environment}.vars`);
      expect(vars, environment).toBeDefined();
      expect([...vars!.keys()].sort(), environment).toEqual([...topVars.keys()].sort());
      expect(vars!.get("ENVIRONMENT")).toBe(environment);
      expect(bindings(`env.${environment}.`), environment).toEqual(bindings(""));
    }
    expect(tables.get("env.production")?.get("name")).toBe(tables.get("")?.get("name"));
  });

  it("declares no secret as a var", () => {
    for (const [name, table] of tables) {
      for (const secret of ["ROOM_TOKEN_SECRET", "TURN_SECRETS", "TURN_NODE_TOKEN", "API_KEYS", "ADMIN_TOKEN"]) {
        expect(table.has(secret), `${secret} in [${name}]`).toBe(false);
      }
    }
  });
});
