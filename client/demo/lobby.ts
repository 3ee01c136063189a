/** The lobby: pick or create a room, choose a display name and the relay-only option, then join. */
import { roomNameProblem } from "../../protocol/room-name.ts";
import { h, ICONS, icon } from "./dom.ts";
import { Notices } from "./notices.ts";

/** What the person chose in the lobby. */
export interface LobbyChoice {
  room: string;
  name: string;
  forceRelay: boolean;
}

/** Options of the lobby. */
export interface LobbyOptions {
  initial: Partial<LobbyChoice>;
  /** A token came in the URL: the room is fixed by it. */
  tokenRoom?: string;
  onJoin: (choice: LobbyChoice) => Promise<void>;
}

/** Handle to the rendered lobby. */
export interface Lobby {
  notices: Notices;
  setBusy: (busy: boolean, label?: string) => void;
}

const RECENT_KEY = "switchboard.recentRooms";
const NAME_KEY = "switchboard.name";
const ADJECTIVES = [
  "amber",
  "brisk",
  "calm",
  "daring",
  "eager",
  "fuzzy",
  "gentle",
  "honest",
  "lucky",
  "mellow",
  "nimble",
  "quiet",
  "rapid",
  "sunny",
  "tidy",
  "vivid",
];
const NOUNS = [
  "otter",
  "falcon",
  "maple",
  "harbor",
  "comet",
  "meadow",
  "lantern",
  "canyon",
  "pebble",
  "willow",
  "ember",
  "summit",
  "orchid",
  "breeze",
];

/** A random, readable room name such as `brisk-otter-42`. */
export function randomRoomName(): string {
  const pick = (list: readonly string[]) => list[Math.floor(Math.random() * list.length)] ?? list[0];
  return `${pick(ADJECTIVES)}-${pick(NOUNS)}-${Math.floor(10 + Math.random() * 90)}`;
}

/** Rooms this browser joined recently (most recent first). */
export function recentRooms(): string[] {
  try {
    const value = JSON.parse(localStorage.getItem(RECENT_KEY) ?? "[]") as unknown;
    return Array.isArray(value) ? value.filter((room): room is string => typeof room === "string").slice(0, 5) : [];
  } catch {
    return [];
  }
}

/** Remembers a joined room and the display name. */
export function rememberJoin(room: string, name: string): void {
  try {
    localStorage.setItem(RECENT_KEY, JSON.stringify([room, ...recentRooms().filter((other) => other !== room)].slice(0, 5)));
    localStorage.setItem(NAME_KEY, name);
  } catch {
    // Storage may be disabled (private mode): recent rooms are a convenience only.
  }
}

/** The remembered display name. */
export function rememberedName(): string | undefined {
  try {
    return localStorage.getItem(NAME_KEY) ?? undefined;
  } catch {
    return undefined;
  }
}

/** Renders the lobby into `root`. */
export function renderLobby(root: HTMLElement, options: LobbyOptions): Lobby {
  const roomInput = h("input", {
    id: "room",
    name: "room",
    required: true,
    maxlength: 64,
    autocomplete: "off",
    spellcheck: "false",
    pattern: "[A-Za-z0-9_\\-][A-Za-z0-9._\\-]{0,63}",
    placeholder: "e.g. brisk-otter-42",
  });
  roomInput.value = options.tokenRoom ?? options.initial.room ?? randomRoomName();
  roomInput.readOnly = options.tokenRoom !== undefined;
  const nameInput = h("input", {
    id: "name",
    name: "name",
    required: true,
    maxlength: 40,
    autocomplete: "nickname",
    placeholder: "Your name",
  });
  nameInput.value = options.initial.name ?? "";
  const relayInput = h("input", { id: "force-relay", type: "checkbox", role: "switch" });
  relayInput.checked = options.initial.forceRelay ?? false;
  const shuffle = h(
    "button",
    {
      class: "icon-button",
      type: "button",
      title: "New random room",
      "aria-label": "New random room",
      disabled: options.tokenRoom !== undefined,
      onclick: () => {
        roomInput.value = randomRoomName();
        roomInput.focus();
      },
    },
    icon(ICONS.shuffle),
  );
  const joinButton = h("button", { class: "button button-primary button-wide", type: "submit", id: "join" }, "Join room");
  const noticeArea = h("div", { class: "notices" });
  const notices = new Notices(noticeArea);
  const recent = options.tokenRoom ? [] : recentRooms();
  const recentList =
    recent.length > 0
      ? h(
          "div",
          { class: "recent" },
          h("span", { class: "recent-label" }, "Recent"),
          ...recent.map((room) =>
            h(
              "button",
              {
                class: "chip",
                type: "button",
                onclick: () => {
                  roomInput.value = room;
                },
              },
              room,
            ),
          ),
        )
      : null;

  const form = h(
    "form",
    { class: "lobby-form", novalidate: true },
    h("label", { for: "name" }, "Display name"),
    nameInput,
    h("label", { for: "room" }, "Room"),
    h("div", { class: "input-row" }, roomInput, shuffle),
    recentList,
    h(
      "label",
      { class: "switch-row", for: "force-relay" },
      relayInput,
      h("span", { class: "switch" }),
      h("span", { class: "switch-text" }, h("strong", {}, "Force relay"), h("small", {}, "Send all media through the TURN relay")),
    ),
    joinButton,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    notices.clear();
    const room = roomInput.value.trim();
    const name = nameInput.value.trim();
    if (!name) {
      notices.show("form", "error", "Please enter a display name.");
      nameInput.focus();
      return;
    }
    const problem = roomNameProblem(room);
    if (problem) {
      notices.show("form", "error", "That room name cannot be used.", `${problem[0]?.toUpperCase()}${problem.slice(1)}.`);
      roomInput.focus();
      return;
    }
    await options.onJoin({ room, name, forceRelay: relayInput.checked });
  });

  root.replaceChildren(
    h(
      "main",
      { class: "lobby" },
      h(
        "section",
        { class: "card lobby-card" },
        h(
          "header",
          { class: "brand" },
          h("div", { class: "brand-mark" }, icon(ICONS.users)),
          h(
            "div",
            {},
            h("h1", {}, "Switchboard"),
            h("p", { class: "muted" }, "Video calls signaled at the edge, relayed when the network says no."),
          ),
        ),
        form,
        noticeArea,
      ),
      h(
        "p",
        { class: "lobby-footnote muted" },
        "No camera? You will send a moving test pattern instead. Open the same room in another tab or device to talk.",
      ),
    ),
  );
  if (!nameInput.value) nameInput.focus();

  return {
    notices,
    setBusy: (busy, label) => {
      joinButton.disabled = busy;
      joinButton.textContent = busy ? (label ?? "Joining…") : "Join room";
      form.classList.toggle("busy", busy);
    },
  };
}
