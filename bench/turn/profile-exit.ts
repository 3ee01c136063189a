/**
 * Preloaded (`node --import`) into a profiled server: SIGUSR2 makes it exit through process.exit(), the
 * path on which `--cpu-prof` writes its profile (a process killed by a signal writes none). SIGUSR2 is
 * used because the server may own SIGTERM/SIGINT (drain).
 */
process.on("SIGUSR2", () => process.exit(0));
