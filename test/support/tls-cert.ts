/**
 * A throw-away self-signed certificate for a TURN node's TLS listener. Chromium refuses it silently (no
 * relay candidate) unless launched with --ignore-certificate-errors (../shared/TOOLCHAIN.md); production
 * needs a real certificate for the TURN host name.
 */
import { execFileSync } from "node:child_process";
import { join } from "node:path";

/** Writes `tls.crt` and `tls.key` for `ip` (CN and subjectAltName) into `dir` with openssl. */
export function makeSelfSignedCert(dir: string, ip: string): { certFile: string; keyFile: string } {
  const certFile = join(dir, "tls.crt");
  const keyFile = join(dir, "tls.key");
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-days",
      "2",
      "-subj",
      `/CN=${ip}`,
      "-addext",
      `subjectAltName=IP:${ip}`,
      "-keyout",
      keyFile,
      "-out",
      certFile,
    ],
    { stdio: ["ignore", "ignore", "pipe"], timeout: 30_000 },
  );
  return { certFile, keyFile };
}
