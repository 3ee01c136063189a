/** Human-readable labels for quality numbers and ICE paths. */
import type { QualityReport } from "../src/index.ts";

/** A bitrate in kbit/s as "850 kb/s" or "1.4 Mb/s". */
export function formatBitrate(kbps: number): string {
  if (kbps >= 1000) return `${(kbps / 1000).toFixed(kbps >= 10_000 ? 0 : 1)} Mb/s`;
  return `${Math.round(kbps)} kb/s`;
}

/** The path badge: its text, its tone (CSS modifier) and a longer description for the tooltip. */
export function pathLabel(report: QualityReport | undefined): { text: string; tone: "direct" | "relay" | "pending"; title: string } {
  if (!report || report.path === "unknown") return { text: "Connecting", tone: "pending", title: "no candidate pair selected yet" };
  const local = report.localCandidateType ?? "?";
  const remote = report.remoteCandidateType ?? "?";
  const title = `local ${local} ↔ remote ${remote}${report.transport ? ` over ${report.transport}` : ""}`;
  if (report.path === "direct")
    return {
      text: `Direct · ${local === "host" && remote === "host" ? "host" : local === "host" ? remote : local}`,
      tone: "direct",
      title,
    };
  if (report.localCandidateType === "relay") {
    return {
      text: `Relay · ${(report.relayProtocol ?? report.transport ?? "udp").toUpperCase()}`,
      tone: "relay",
      title: `${title}; TURN over ${report.relayProtocol ?? "?"}`,
    };
  }
  return { text: "Relay · peer's TURN", tone: "relay", title };
}

/** Initials for an avatar ("Ada Lovelace" → "AL"). */
export function initials(name: string): string {
  const parts = name.trim().split(/\s+/).filter(Boolean);
  const letters = parts.length > 1 ? [parts[0]?.[0], parts[parts.length - 1]?.[0]] : [name.trim()[0], name.trim()[1]];
  return letters.filter(Boolean).join("").toUpperCase() || "?";
}

/** A stable hue for a name (avatar colour). */
export function hueFor(name: string): number {
  let hash = 0;
  for (const char of name) hash = (hash * 31 + char.charCodeAt(0)) % 360;
  return hash;
}
