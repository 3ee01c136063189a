/** Local media for the demo: the camera and microphone when allowed, otherwise a canvas test pattern. */
import { createTestPattern } from "./test-pattern.ts";

/** The stream to send and where it came from. */
export interface LocalMedia {
  stream: MediaStream;
  source: "camera" | "test-pattern";
  /** Why the camera is not used (shown to the person), when source is test-pattern. */
  fallbackReason?: string;
  stop: () => void;
}

/** Asks for camera+microphone (then camera alone); falls back to a test pattern when refused or absent. */
export async function getLocalMedia(label: string): Promise<LocalMedia> {
  let lastError: unknown;
  if (navigator.mediaDevices?.getUserMedia) {
    for (const constraints of [
      { video: { width: { ideal: 640 }, height: { ideal: 360 } }, audio: true },
      { video: { width: { ideal: 640 }, height: { ideal: 360 } }, audio: false },
    ]) {
      try {
        const stream = await navigator.mediaDevices.getUserMedia(constraints);
        return { stream, source: "camera", stop: () => stopTracks(stream) };
      } catch (error) {
        lastError = error;
        // A refusal applies to both attempts: do not ask twice.
        if (error instanceof DOMException && error.name === "NotAllowedError") break;
      }
    }
  } else {
    lastError = new Error("this page has no camera access (needs HTTPS or localhost)");
  }
  const pattern = createTestPattern(label);
  return { stream: pattern.stream, source: "test-pattern", fallbackReason: describeMediaError(lastError), stop: pattern.stop };
}

function stopTracks(stream: MediaStream): void {
  for (const track of stream.getTracks()) track.stop();
}

/** A sentence for a getUserMedia failure (W3C Media Capture §9.2 error names). */
export function describeMediaError(error: unknown): string {
  if (error instanceof DOMException) {
    if (error.name === "NotAllowedError") return "camera access was refused";
    if (error.name === "NotFoundError") return "no camera was found";
    if (error.name === "NotReadableError") return "the camera is in use by another application";
    if (error.name === "OverconstrainedError") return "the camera does not support the requested size";
  }
  return error instanceof Error ? error.message : "the camera is unavailable";
}
