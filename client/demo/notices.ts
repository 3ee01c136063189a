/** Banner messages (info / warning / error) shown above the call or in the lobby; one per key at a time. */
import { h, ICONS, icon } from "./dom.ts";

/** How serious a notice is (its colour). */
export type NoticeLevel = "info" | "warning" | "error";

/** A list of dismissible notices rendered into `container`. */
export class Notices {
  readonly #container: HTMLElement;
  readonly #byKey = new Map<string, HTMLElement>();

  constructor(container: HTMLElement) {
    this.#container = container;
  }

  /**
   * Shows (or replaces) the notice `key`: a title, an optional sentence, an optional technical line (error
   * code and server message, in small monospace). It goes away after `autoHideMs` when given.
   */
  show(key: string, level: NoticeLevel, title: string, detail?: string, autoHideMs?: number, technical?: string): void {
    this.hide(key);
    const close = h(
      "button",
      { class: "notice-close", type: "button", "aria-label": "Dismiss", onclick: () => this.hide(key) },
      icon(ICONS.x),
    );
    const element = h(
      "div",
      { class: `notice notice-${level}`, role: level === "error" ? "alert" : "status", "data-key": key },
      h(
        "div",
        { class: "notice-text" },
        h("strong", {}, title),
        detail ? h("span", {}, detail) : null,
        technical ? h("code", { class: "notice-technical" }, technical) : null,
      ),
      close,
    );
    this.#byKey.set(key, element);
    this.#container.append(element);
    if (autoHideMs) setTimeout(() => this.#byKey.get(key) === element && this.hide(key), autoHideMs);
  }

  /** Removes the notice `key`, if shown. */
  hide(key: string): void {
    this.#byKey.get(key)?.remove();
    this.#byKey.delete(key);
  }

  /** Removes every notice. */
  clear(): void {
    for (const key of [...this.#byKey.keys()]) this.hide(key);
  }
}
