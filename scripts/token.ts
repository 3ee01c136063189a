/**
 * `npm run token -- --room R --user U`: mints a room token (HS256, ROOM_TOKEN_SECRET) for app backends,
 * scripts and local testing. Prints only the token on stdout (or JSON with --json), so
 * `TOKEN=$(npm run -s token -- --room demo --user alice)` works. Messages go to stderr.
 */
import { parseArgs } from "node:util";
import { roomNameProblem } from "../protocol/room-name.ts";
import { mintRoomToken } from "../protocol/room-token.ts";
import { readDevVars } from "./dev-vars.ts";

const HELP = `Usage: npm run token -- --room <room> --user <user-id> [options]

Mints a room token (an HS256 JWT signed with ROOM_TOKEN_SECRET) and prints it on stdout.

Options:
  --room <room>      Room the token admits to (1-64 of A-Z a-z 0-9 - _ ., not starting with '.'). Required.
  --user <user-id>   The peer's stable user id (the token's sub claim, 1-128 characters). Required.
  --ttl <seconds>    Lifetime, 1 to ${30 * 86_400} (30 days). Default 3600.
  --name <name>      Display name carried in the token (up to 128 characters).
  --admin            Grant admin (may kick peers and close the room).
  --receive-only     Deny publishing: the peer may only receive signals and broadcasts.
  --secret <secret>  Signing secret. Default: env ROOM_TOKEN_SECRET, then ROOM_TOKEN_SECRET in ./.dev.vars.
                     (A secret on the command line is visible to other local users in ps; prefer the env var.)
  --json             Print {"token","room","userId","expiresAt"} instead of the bare token.
  -h, --help         Show this help.

Examples:
  npm run token -- --room demo --user alice
  ROOM_TOKEN_SECRET=... npm run -s token -- --room standup --user u_42 --name "Ada" --ttl 600 --json
`;

const MAX_TTL_SECONDS = 30 * 86_400;
const MAX_CLAIM_LENGTH = 128;

/** A usage error: printed with a pointer to --help, exit code 2. */
class UsageError extends Error {}

async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      room: { type: "string" },
      user: { type: "string" },
      ttl: { type: "string" },
      name: { type: "string" },
      admin: { type: "boolean", default: false },
      "receive-only": { type: "boolean", default: false },
      secret: { type: "string" },
      json: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return;
  }

  const room = values.room;
  if (room === undefined) throw new UsageError("--room is required");
  const roomProblem = roomNameProblem(room);
  if (roomProblem !== null) throw new UsageError(`--room ${JSON.stringify(room)}: ${roomProblem}`);

  const userId = values.user?.trim();
  if (userId === undefined || userId === "") throw new UsageError("--user is required");
  if (userId.length > MAX_CLAIM_LENGTH) throw new UsageError(`--user is longer than ${MAX_CLAIM_LENGTH} characters`);
  if (values.name !== undefined && values.name.length > MAX_CLAIM_LENGTH) {
    throw new UsageError(`--name is longer than ${MAX_CLAIM_LENGTH} characters`);
  }

  let ttlSeconds = 3600;
  if (values.ttl !== undefined) {
    ttlSeconds = Number(values.ttl);
    if (!/^\d+$/.test(values.ttl) || ttlSeconds < 1 || ttlSeconds > MAX_TTL_SECONDS) {
      throw new UsageError(`--ttl must be a whole number of seconds from 1 to ${MAX_TTL_SECONDS} (got ${JSON.stringify(values.ttl)})`);
    }
  }

  const secret = findSecret(values.secret);
  const grants = {
    ...(values.admin ? { admin: true } : {}),
    ...(values["receive-only"] ? { canPublishData: false } : {}),
  };
  const now = Math.floor(Date.now() / 1000);
  const token = await mintRoomToken(secret, {
    room,
    userId,
    ttlSeconds,
    now,
    ...(values.name !== undefined ? { name: values.name } : {}),
    ...(Object.keys(grants).length > 0 ? { grants } : {}),
  });
  if (values.json) {
    const expiresAt = new Date((now + ttlSeconds) * 1000).toISOString();
    process.stdout.write(`${JSON.stringify({ token, room, userId, expiresAt })}\n`);
  } else {
    process.stdout.write(`${token}\n`);
  }
}

// --secret, then the environment, then the local development file; never a built-in default.
function findSecret(flag: string | undefined): string {
  if (flag !== undefined) {
    if (flag.trim() === "") throw new UsageError("--secret is empty");
    return flag;
  }
  const fromEnv = process.env.ROOM_TOKEN_SECRET;
  if (fromEnv !== undefined && fromEnv.trim() !== "") return fromEnv;
  const fromFile = readDevVars(process.cwd())?.ROOM_TOKEN_SECRET;
  if (fromFile !== undefined && fromFile.trim() !== "") {
    process.stderr.write("token: signing with ROOM_TOKEN_SECRET from ./.dev.vars (local development)\n");
    return fromFile;
  }
  throw new UsageError(
    "no signing secret: pass --secret, set ROOM_TOKEN_SECRET in the environment, or run where .dev.vars has ROOM_TOKEN_SECRET (npm start creates it)",
  );
}

try {
  await main(process.argv.slice(2));
} catch (error) {
  // parseArgs throws TypeErrors with codes like ERR_PARSE_ARGS_UNKNOWN_OPTION: usage errors too.
  const isUsage = error instanceof UsageError || (error as { code?: string }).code?.startsWith("ERR_PARSE_ARGS") === true;
  process.stderr.write(`token: ${error instanceof Error ? error.message : String(error)}\n`);
  if (isUsage) process.stderr.write("token: see --help\n");
  process.exitCode = isUsage ? 2 : 1;
}
