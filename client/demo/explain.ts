/** Plain-language titles and advice for the error codes a person can meet in the demo. */

/** What to tell a person about a failure: a headline, a sentence of advice, and the technical detail. */
export interface Explanation {
  title: string;
  detail: string;
  technical: string;
}

/** Explains an error code; `serverMessage` (the server's own sentence) becomes the technical line. */
export function explainFailure(code: string, serverMessage?: string): Explanation {
  const technical = `${code}${serverMessage ? `: ${serverMessage}` : ""}`;
  return { ...advice(code), technical };
}

function advice(code: string): { title: string; detail: string } {
  switch (code) {
    case "room_full":
      return { title: "This room is full.", detail: `Try another room, or wait until someone leaves.` };
    case "token_expired":
      return { title: "The room token was refused.", detail: `It has expired: ask for a fresh invite link.` };
    case "wrong_room":
      return { title: "The room token was refused.", detail: `It was issued for another room.` };
    case "unauthorized":
    case "token_invalid":
      return {
        title: "The room token was refused.",
        detail: "Ask your app for a fresh link. In development, open the page without #token= to get one automatically.",
      };
    case "kicked":
      return { title: "You were removed from the room.", detail: `An admin removed you.` };
    case "room_closed":
      return { title: "The room was closed.", detail: `An admin ended the call for everyone.` };
    case "replaced":
      return { title: "This call continued in another tab.", detail: "The same session was resumed elsewhere; this tab stopped." };
    case "invalid_room":
      return { title: "That room name cannot be used.", detail: `Use letters, digits, '-', '_' and '.'.` };
    case "network":
      return { title: "The server is unreachable.", detail: `Check the connection and try again.` };
    case "abuse":
      return { title: "Disconnected from the room.", detail: `The room refused too many messages from this tab.` };
    default:
      return { title: "Disconnected from the room.", detail: "The connection to the room ended. Join again to continue." };
  }
}
