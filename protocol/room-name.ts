/** Room names: 1–64 characters of letters, digits, `-`, `_` and `.`, not starting with `.`. */
export const ROOM_NAME_PATTERN = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}$/;

/** Largest room name accepted, in characters. */
export const ROOM_NAME_MAX_LENGTH = 64;

/** Returns a sentence saying why `name` is not a valid room name, or null when it is valid. */
export function roomNameProblem(name: string): string | null {
  if (name.length === 0) return "room name is empty";
  if (name.length > ROOM_NAME_MAX_LENGTH) return `room name is longer than ${ROOM_NAME_MAX_LENGTH} characters`;
  if (!ROOM_NAME_PATTERN.test(name)) return "room name may only contain letters, digits, '-', '_' and '.', and may not start with '.'";
  return null;
}
